import { InvalidSubjectTokenError } from './errors.js';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Checks that a value is one safe subject token (no dots, wildcards or spaces). */
export function subjectToken(value: string, what = 'name'): string {
  if (!TOKEN.test(value)) throw new InvalidSubjectTokenError(value, what);
  return value;
}

/**
 * An alert's name as one subject token: characters outside `[A-Za-z0-9_-]` (dots, wildcards,
 * spaces, `:`) become `_`, at most 128 characters, `unnamed` when empty. The event's data keeps
 * the name as sent. Escaped rather than refused: an alert is never dropped for its name.
 */
export function alertSubjectToken(alertname: string): string {
  const t = alertname.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
  return t || 'unnamed';
}

/** The subject catalogue of DESIGN.md. Every subject Homeostat publishes is built here. */
export const subjects = {
  heartbeat: (component: string) => `heartbeat.${subjectToken(component, 'component')}` as const,
  heartbeatAll: 'heartbeat.>' as const,
  event: (family: string, kind: string) =>
    `events.${subjectToken(family, 'event family')}.${subjectToken(kind, 'event kind')}` as const,
  eventsAll: 'events.>' as const,
  /** `events.alert.<alertname>`, the name escaped by {@link alertSubjectToken}. */
  alert: (alertname: string) => `events.alert.${alertSubjectToken(alertname)}` as const,
  alertsAll: 'events.alert.>' as const,
  action: (handler: string, verb: string) =>
    `actions.${subjectToken(handler, 'handler')}.${subjectToken(verb, 'verb')}` as const,
  /** Mutating action requests, 3 tokens: what the durable HOMEOSTAT_ACTIONS stream stores. */
  actionsDurable: 'actions.*.*' as const,
  /**
   * A read-only probe, by core NATS request/reply (4 tokens, so the HOMEOSTAT_ACTIONS stream,
   * which stores `actions.*.*`, never captures it nor answers it with a publish acknowledgement).
   */
  probe: (handler: string, verb: string) =>
    `actions.${subjectToken(handler, 'handler')}.${subjectToken(verb, 'verb')}.probe` as const,
  /** Every action server answers a request here with the actions it serves (engine start-up check). */
  actionsServed: 'actions.served' as const,
  result: (actionId: string) => `results.${subjectToken(actionId, 'action id')}` as const,
  run: (runId: string, phase: RunPhase) => `runs.${subjectToken(runId, 'run id')}.${phase}` as const,
  runsAll: 'runs.>' as const,
  /** Every run's `resolved` phase (the health monitor's rapid-check mode follows fixes here). */
  runsResolved: 'runs.*.resolved' as const,
  approval: (runId: string) => `approvals.${subjectToken(runId, 'run id')}` as const,
  /** Every run's approval subject (one token after `approvals.`). */
  approvalsAll: 'approvals.*' as const,
  /** Operators lift a playbook's flap budget for a target here. */
  budgetReset: 'approvals.budget.reset' as const,
  chaos: (fault: string) => `chaos.${subjectToken(fault, 'fault')}` as const,
  chaosAll: 'chaos.>' as const,
  /** A fault the chaos agent asks a target to act out on itself (e.g. `cpu_spike`). */
  targetChaos: (target: string, fault: string) =>
    `target.${subjectToken(target, 'target')}.chaos.${subjectToken(fault, 'fault')}` as const,
  aclViolation: 'acl.violation' as const,
  deadletter: (origin: string) => `deadletter.${subjectToken(origin, 'origin')}` as const,
  deadletterAll: 'deadletter.>' as const,
  /** A one-off request/reply subject for a bus round-trip probe (inside `_INBOX.>`, which every role may use). */
  ping: (id: string) => `_INBOX.homeostat-ping.${subjectToken(id, 'ping id')}` as const,
  /** The runs engines hold now and the approvals they wait for (request/reply, every engine answers; `homeostat runs --active`, the dashboard). */
  activeRuns: 'engine.runs.active' as const,
  /** Read-only history queries answered by the recorder (request/reply). */
  history: (kind: string) => `history.${subjectToken(kind, 'history query')}` as const,
  historyAll: 'history.>' as const,
  /** `homeostat diagnose` hands its diagnosis to the recorder of a running stack to keep (request/reply). */
  diagnosisSave: 'diagnoses.save' as const,
} as const;

export const RUN_PHASES = ['started', 'step', 'awaiting_approval', 'resolved', 'failed', 'stopped'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/** The component a `heartbeat.<component>` subject names; undefined for any other subject. */
export function heartbeatComponent(subject: string | undefined): string | undefined {
  return subject?.startsWith('heartbeat.') ? subject.slice('heartbeat.'.length) : undefined;
}

/** NATS subject matching with `*` (one token) and `>` (one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True when `pattern` is a well-formed NATS subject or wildcard pattern. */
export function isValidSubjectPattern(pattern: string): boolean {
  const toks = pattern.split('.');
  return toks.every((t, i) => t.length > 0 && !/\s/.test(t) && (t === '>' ? i === toks.length - 1 : !t.includes('>')) && (t === '*' || !t.includes('*')));
}

/** Fewest characters of a run id an operator may give on `approvals.<runId>` (`homeostat runs` prints 12). */
export const MIN_RUN_ID_PREFIX = 8;

/**
 * The run ids among `ids` that `idOrPrefix` names: the id itself when it is one of them, otherwise
 * every id it is a prefix of (at least {@link MIN_RUN_ID_PREFIX} characters). One element is an answer;
 * several are ambiguous; none is unknown.
 */
export function runIdsByPrefix(idOrPrefix: string, ids: Iterable<string>): string[] {
  const all = [...ids];
  if (all.includes(idOrPrefix)) return [idOrPrefix];
  if (idOrPrefix.length < MIN_RUN_ID_PREFIX) return [];
  return all.filter((id) => id.startsWith(idOrPrefix));
}
