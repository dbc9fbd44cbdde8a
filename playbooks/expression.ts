import { parse } from '@marcbachmann/cel-js';

export type Compiled = (ctx: Record<string, unknown>) => unknown;

/**
 * Compiles a CEL expression (Common Expression Language: safe, side-effect free and not
 * Turing-complete). Never `eval` or `Function`.
 */
export function compileExpression(source: string): Compiled {
  const fn = parse(source);
  return (ctx) => fn(toCel(ctx) as Record<string, unknown>) as unknown;
}

/** Maps JSON values to what the CEL runtime expects (integers as numbers are fine; undefined dropped). */
function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toCel(x);
    return out;
  }
  return v;
}

/** Evaluates to a boolean; anything else (or an evaluation error) counts as false with a reason. */
export function evaluateBool(fn: Compiled, ctx: Record<string, unknown>): { value: boolean; error?: string } {
  try {
    const v = fn(ctx);
    if (typeof v !== 'boolean') return { value: false, error: `expression gave ${typeof v}, not a boolean` };
    return { value: v };
  } catch (e) {
    return { value: false, error: (e as Error).message };
  }
}
