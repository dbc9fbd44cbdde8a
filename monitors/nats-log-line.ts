/**
 * Parses one line of nats-server's log. Two shapes of permission violation are understood:
 *
 * - nats-server ≤ 2.9, the user in the message:
 *   `[10688] 2026/11/23 05:34:41.936320 [ERR] 127.0.0.1:38018 - cid:4 - "v3.4.0:nats.js:rogue-client" - Publish Violation - User "rogue", Subject "actions.process.restart"`
 * - nats-server ≥ 2.10, the account and user in the connection prefix:
 *   `[ERR] 127.0.0.1:57456 - cid:6 - "v1.51.0:go:NATS CLI" - "$G/user:order-svc" - Publish Violation - Subject "billing.charge"`
 *
 * The `[pid]` and the time stamp are optional (a container's log stream may drop them).
 * Subscription violations carry `, Queue "q"` (or `Queue: "q"`) and `, SID n`; the newer
 * server also logs `Publish Violation - Reply "…"` for a denied reply subject.
 */
import type { AclViolationData } from '../bus/index.js';

/** A violation as read from the log (no `source` yet). */
export type LoggedViolation = Omit<AclViolationData, 'source'>;

export type ParsedLogLine =
  | { kind: 'violation'; violation: LoggedViolation }
  /** A well-formed log line that is not a violation (startup, reload, auth errors…). */
  | { kind: 'other' }
  /** Not a nats-server log line, or a violation line that could not be read. */
  | { kind: 'garbled'; reason: string };

const HEAD = /^(?:\[(\d+)\] )?(?:(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? )?\[(INF|WRN|ERR|DBG|TRC|FTL|SYS)\] /;
const MARK = / - (Publish|Subscription) Violation - /;
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const CONN = new RegExp(`^(\\S+) - cid:(\\d+)(?: - ${QUOTED})?(?: - ${QUOTED})?$`);
const FIELD = new RegExp(`(User|Subject|Queue|Reply|SID):? (?:${QUOTED}|(\\S+?))(?:, |$)`, 'gy');

/** Undoes Go's `%q` quoting (a superset of JSON string escapes). */
export function unquoteGo(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"'])/g, (_m, e: string) => {
    switch (e[0]) {
      case 'x':
      case 'u':
      case 'U':
        return String.fromCodePoint(parseInt(e.slice(1), 16));
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      default:
        return e;
    }
  });
}

function logTime(m: RegExpExecArray): string | null {
  if (!m[2]) return null;
  const micro = (m[8] ?? '0').padEnd(3, '0').slice(0, 3);
  // nats-server stamps local time unless `logtime_utc` is set; read it as local time.
  const d = new Date(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]), Number(micro));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Splits `"<account>/user:<name>"` (or `jwt:`, `nkey:`) into account and user. */
function prefixUser(label: string): { actor: string; account?: string } | null {
  const slash = label.lastIndexOf('/');
  const tail = slash >= 0 ? label.slice(slash + 1) : label;
  const colon = tail.indexOf(':');
  if (colon <= 0) return null;
  const actor = tail.slice(colon + 1);
  if (!actor) return null;
  return slash >= 0 ? { actor, account: label.slice(0, slash) } : { actor };
}

/** Parses one log line (without its newline). Never throws. */
export function parseNatsLogLine(line: string, now: () => string = () => new Date().toISOString()): ParsedLogLine {
  const head = HEAD.exec(line);
  if (!head) return { kind: 'garbled', reason: 'not a nats-server log line' };
  const mark = MARK.exec(line);
  if (!mark || head[9] !== 'ERR') return { kind: 'other' };

  const conn = CONN.exec(line.slice(head[0].length, mark.index));
  if (!conn) return { kind: 'garbled', reason: 'violation without a connection prefix' };
  const fields: Record<string, string> = {};
  const rest = line.slice(mark.index + mark[0].length);
  let pos = 0;
  while (pos < rest.length) {
    FIELD.lastIndex = pos;
    const f = FIELD.exec(rest);
    if (!f) return { kind: 'garbled', reason: 'violation with unreadable fields' };
    fields[f[1]!] = f[2] !== undefined ? unquoteGo(f[2]) : f[3]!;
    pos = FIELD.lastIndex;
  }

  const operation = mark[1] === 'Publish' ? 'publish' : 'subscribe';
  const subject = fields.Subject ?? fields.Reply;
  if (subject === undefined || subject === '') return { kind: 'garbled', reason: 'violation without a subject' };

  const client = conn[3] !== undefined ? unquoteGo(conn[3]) : undefined;
  const label = conn[4] !== undefined ? unquoteGo(conn[4]) : undefined;
  let actor: string | undefined = fields.User;
  let account: string | undefined;
  if (actor === undefined && label !== undefined) {
    const u = prefixUser(label);
    if (u) ({ actor, account } = u);
  } else if (actor === undefined && client !== undefined) {
    // the newer form without a client name puts the user label in the first quoted field
    const u = prefixUser(client);
    if (u && client.includes('/')) ({ actor, account } = u);
  }
  if (actor === undefined) return { kind: 'garbled', reason: 'violation without a user' };

  const violation: LoggedViolation = {
    actor: actor === '' ? 'anonymous' : actor,
    subject,
    operation,
    time: logTime(head) ?? now(),
    clientId: Number(conn[2]),
    address: conn[1]!,
  };
  if (client !== undefined && !(label === undefined && account !== undefined)) violation.client = client;
  if (account !== undefined) violation.account = account;
  if (fields.Queue !== undefined) violation.queue = fields.Queue;
  return { kind: 'violation', violation };
}
