import { Environment } from '@marcbachmann/cel-js';
import { ExpressionError } from './errors.js';

export type Compiled = (ctx: Record<string, unknown>) => unknown;

/** The variables an expression may name, by where it is written. */
export const EXPRESSION_SCOPES = {
  /** `on.when`: the event only. */
  trigger: ['event'],
  /** A step's `when`: the event and earlier steps. */
  step: ['event', 'steps'],
  /** `verify.expect`: the probe's result, the event and earlier steps. */
  expect: ['result', 'event', 'steps'],
} as const;
export type ExpressionScope = keyof typeof EXPRESSION_SCOPES;

const ENVIRONMENTS = Object.fromEntries(
  Object.entries(EXPRESSION_SCOPES).map(([scope, vars]) => {
    const env = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 50 } });
    for (const v of vars) env.registerVariable(v, 'dyn');
    return [scope, env];
  }),
) as Record<ExpressionScope, Environment>;

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/**
 * Compiles a CEL expression (Common Expression Language: safe, side-effect free and not
 * Turing-complete) for one scope, and type-checks it: an unknown variable or a result that cannot
 * be a boolean is refused here, at load, not at run time. Never `eval` or `Function`.
 * Throws {@link ExpressionError} with the offset of the problem inside the expression.
 */
export function compileExpression(source: string, scope: ExpressionScope = 'expect'): Compiled {
  let fn: ReturnType<Environment['parse']>;
  try {
    fn = ENVIRONMENTS[scope].parse(source);
  } catch (e) {
    const err = e as Error & { node?: { pos?: number }; range?: { start: number } };
    throw new ExpressionError(source, firstLine(err.message), err.range?.start ?? err.node?.pos ?? 0, { cause: e });
  }
  const checked = fn.check();
  if (!checked.valid) {
    const err = checked.error as (Error & { node?: { pos?: number }; range?: { start: number } }) | undefined;
    throw new ExpressionError(source, firstLine(err?.message ?? 'does not type-check'), err?.range?.start ?? err?.node?.pos ?? 0);
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new ExpressionError(source, `gives ${checked.type}, not a bool`, 0);
  }
  // JSON values go in as they are: numbers are doubles, and an undefined field counts as absent
  return (ctx) => fn(ctx) as unknown;
}

/** Evaluates to a boolean; anything else (or an evaluation error) counts as false with a reason. */
export function evaluateBool(fn: Compiled, ctx: Record<string, unknown>): { value: boolean; error?: string } {
  try {
    const v = fn(ctx);
    if (typeof v !== 'boolean') return { value: false, error: `expression gave ${typeof v}, not a boolean` };
    return { value: v };
  } catch (e) {
    return { value: false, error: firstLine((e as Error).message) };
  }
}
