import { TemplateFieldMissingError, TemplateSyntaxError } from './errors.js';

const WHOLE = /^\{\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}\}$/;
const PART = /\{\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}\}/g;
const ANY = /\{\{(.*?)\}\}/g;

function lookup(ctx: Record<string, unknown>, path: string, template: string): unknown {
  let cur: unknown = ctx;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) throw new TemplateFieldMissingError(path, template);
    cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === undefined || cur === null) throw new TemplateFieldMissingError(path, template);
  return cur;
}

/** Field paths a template string refers to; throws on `{{ … }}` that is not a plain path. */
export function templateFields(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(ANY)) {
    const inner = (m[1] ?? '').trim();
    if (!/^[A-Za-z_][\w]*(?:\.[\w-]+)*$/.test(inner)) throw new TemplateSyntaxError(m[1] ?? '');
    out.push(inner);
  }
  return out;
}

/**
 * Renders values only: `"{{ event.target }}"` becomes the value itself, and `{{ … }}` inside a
 * longer string is replaced by the value's text. No code runs; a missing field throws.
 */
export function render(value: unknown, ctx: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(ctx, whole[1]!, value);
    return value.replace(PART, (_m, path: string) => {
      const v = lookup(ctx, path, value);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => render(v, ctx));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, ctx)]));
  }
  return value;
}
