/**
 * Redaction of what leaves the host for an LLM provider: secrets, tokens, passwords, e-mail
 * addresses and IP addresses are replaced by `[REDACTED:<kind>]` in every string, and values under
 * secret-looking keys are dropped whole. Tested on `diagnosis/corpus/secrets.yaml`.
 */

const SECRET_KEY = /(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth(orization)?|cookie|session[_-]?id|signature|dsn|conn(ection)?[_-]?string)/i;

/** Applied in order: the shapes first (so a key=value rule does not half-eat a PEM block or a URL). */
const RULES: readonly { kind: string; re: RegExp; keep?: (m: string, ...g: string[]) => string }[] = [
  { kind: 'private-key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g },
  { kind: 'url-credentials', re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, keep: (_m, scheme) => `${scheme}[REDACTED:url-credentials]@` },
  { kind: 'jwt', re: /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}/g },
  { kind: 'token', re: /\b(sk-(proj-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36})\b/g },
  { kind: 'webhook', re: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g },
  { kind: 'bearer', re: /\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, keep: (_m, scheme) => `${scheme} [REDACTED:bearer]` },
  {
    kind: 'secret',
    // key = value, key: value, "key": "value", --key value, key=value in a query string
    re: /(["']?[\w.-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth(?:orization)?|cookie|session[_-]?id)[\w.-]*["']?)(\s*[:=]\s*|\s+)("[^"]*"|'[^']*'|[^\s,;&"'}\])]+)/gi,
    keep: (m, key, sep, value) => ((/^\s+$/.test(sep) && !/^-/.test(key)) || value.startsWith('[REDACTED') ? m : `${key}${sep}${value.startsWith('"') ? '"[REDACTED:secret]"' : value.startsWith("'") ? "'[REDACTED:secret]'" : '[REDACTED:secret]'}`),
  },
  { kind: 'email', re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g },
  { kind: 'ipv6', re: /(?<![\w:.])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?|::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?)(?![\w:])/gi },
  { kind: 'ipv4', re: /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.]*\d)/g },
  { kind: 'hex-secret', re: /\b[0-9a-f]{40,}\b/gi },
];

/** Redacts one string. */
export function redactText(text: string): string {
  let out = text;
  for (const r of RULES) {
    out = out.replace(r.re, (m: string, ...g: unknown[]) => {
      if (r.keep) return r.keep(m, ...(g.filter((x) => typeof x === 'string' || x === undefined).map((x) => x ?? '')));
      return `[REDACTED:${r.kind}]`;
    });
  }
  return out;
}

/** Redacts every string of a JSON-like value; values under secret-looking keys are replaced whole. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[REDACTED:too-deep]';
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? '[REDACTED:secret]' : redactValue(v, depth + 1)]),
    );
  }
  return value;
}
