import type { BusItem } from './live-connection';

export interface ActionView {
  actionId: string;
  action: string;
  params: unknown;
  requestedAt: string;
  status?: string;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  durationMs?: number;
  error?: string;
  result?: unknown;
}

export interface StepView {
  id: string;
  stage?: string;
  status: string;
  action?: string;
  params?: unknown;
  attempts?: number;
  durationMs?: number;
  reason?: string;
  result?: unknown;
  at: string;
}

export interface Awaiting {
  step: string;
  action: string;
  params: unknown;
  risk: string;
  expiresAt: string;
}

export interface RunView {
  runId: string;
  playbook: string;
  target?: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  reason?: string;
  steps: StepView[];
  actions: ActionView[];
  awaiting?: Awaiting;
  decision?: { decision: string; by?: string; reason?: string };
}

export interface EventView {
  id: string;
  subject: string;
  time: string;
  target?: string;
  data: unknown;
}

/** What the page shows: the snapshot from the store, updated by every bus message. */
export interface DashboardState {
  snapshot: Snapshot | null;
  runs: Map<string, RunView>;
  /** actionId → runId, to put a handler's result under its run. */
  actionRuns: Map<string, string>;
  /** The last events, oldest first (bounded; shown newest first). */
  events: EventView[];
  /** Target name → the last health event seen live. */
  targetEvents: Map<string, EventView>;
  seen: Set<string>;
  received: number;
  /** Receipt time (page clock) minus envelope time of the last {@link LAG_KEPT} live messages (a ring; replays not counted). */
  lagMs: number[];
  lagNext: number;
}

export interface Snapshot {
  epoch: string;
  lastSeq: number;
  targets: unknown;
  incidents: unknown;
  runs: unknown;
  runbook: unknown;
  scorecards: unknown;
}

const MAX_EVENTS = 300;
const MAX_RUNS = 300;
const MAX_SEEN = 20_000;
export const LAG_KEPT = 1000;

export function emptyState(): DashboardState {
  return { snapshot: null, runs: new Map(), actionRuns: new Map(), events: [], targetEvents: new Map(), seen: new Set(), received: 0, lagMs: [], lagNext: 0 };
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Runs recorded in the store (snapshot), as the live model holds them; live messages then update them. */
export function runsFromSnapshot(s: DashboardState, rows: unknown): void {
  if (!Array.isArray(rows)) return;
  for (const r of rows as Data[]) {
    const id = str(r.id);
    if (!id || s.runs.has(id)) continue;
    s.runs.set(id, { runId: id, playbook: str(r.playbook) ?? '?', target: str(r.target), status: str(r.status) ?? '?', startedAt: str(r.startedAt) ?? '', endedAt: str(r.endedAt), reason: str(r.reason), steps: [], actions: [] });
  }
}

function run(s: DashboardState, d: Data, time: string): RunView {
  const id = str(d.runId)!;
  let r = s.runs.get(id);
  if (!r) {
    r = { runId: id, playbook: str(d.playbook) ?? '?', target: str(d.target), status: 'running', startedAt: time, steps: [], actions: [] };
    s.runs.set(id, r);
    if (s.runs.size > MAX_RUNS) {
      const oldest = [...s.runs.values()].filter((x) => x.status !== 'running' && x.status !== 'awaiting_approval').sort((a, b) => a.startedAt.localeCompare(b.startedAt))[0];
      if (oldest) s.runs.delete(oldest.runId);
    }
  }
  return r;
}

/** Applies one bus message; a message seen before (a replay after reconnecting) changes nothing. */
export function apply(s: DashboardState, item: BusItem, now = Date.now()): void {
  const env = item.envelope;
  if (s.seen.has(env.id)) return;
  s.seen.add(env.id);
  if (s.seen.size > MAX_SEEN) s.seen = new Set([...s.seen].slice(-MAX_SEEN / 2));
  s.received++;
  const lag = now - Date.parse(env.time);
  if (item.live && Number.isFinite(lag)) {
    s.lagMs[s.lagNext] = lag;
    s.lagNext = (s.lagNext + 1) % LAG_KEPT;
  }
  const d = (env.data ?? {}) as Data;
  const [root, a, b] = item.subject.split('.');
  if (root === 'events') {
    const ev: EventView = { id: env.id, subject: item.subject, time: env.time, target: env.target ?? str(d.target), data: d };
    s.events.push(ev);
    if (s.events.length > 2 * MAX_EVENTS) s.events.splice(0, s.events.length - MAX_EVENTS);
    if (ev.target && (a === 'target' || a === 'heartbeat' || a === 'container' || a === 'redis' || a === 'postgres')) s.targetEvents.set(ev.target, ev);
  } else if (root === 'runs' && str(d.runId)) {
    const r = run(s, d, env.time);
    const detail = (d.detail ?? {}) as Data;
    if (b === 'started') r.status = 'running';
    else if (b === 'awaiting_approval') {
      r.status = 'awaiting_approval';
      r.awaiting = { step: str(d.step) ?? '?', action: str(detail.action) ?? '?', params: detail.params, risk: str(detail.risk) ?? 'low', expiresAt: str(detail.expiresAt) ?? env.time };
    } else if (b === 'step') {
      if (r.status === 'awaiting_approval') r.status = 'running';
      r.awaiting = undefined;
      r.steps.push({ id: str(d.step) ?? '?', stage: str(detail.stage), status: str(d.status) ?? '?', action: str(detail.action), params: detail.params, attempts: num(detail.attempts), durationMs: num(d.durationMs), reason: str(d.reason), result: detail.result, at: env.time });
    } else if (b === 'resolved' || b === 'failed' || b === 'stopped') {
      r.status = b;
      r.endedAt = env.time;
      r.reason = str(d.reason);
      r.awaiting = undefined;
    }
  } else if (root === 'actions' && str(d.runId) && str(d.actionId)) {
    const r = run(s, d, env.time);
    s.actionRuns.set(str(d.actionId)!, r.runId);
    if (!r.actions.some((x) => x.actionId === d.actionId)) r.actions.push({ actionId: str(d.actionId)!, action: str(d.action) ?? `${a}.${b}`, params: d.params, requestedAt: env.time });
  } else if (root === 'results') {
    const runId = s.actionRuns.get(str(d.actionId) ?? a ?? '');
    const act = runId ? s.runs.get(runId)?.actions.find((x) => x.actionId === d.actionId) : undefined;
    if (act) Object.assign(act, { status: str(d.status), exitCode: d.exitCode as number | null | undefined, stdout: str(d.stdout), stderr: str(d.stderr), durationMs: num(d.durationMs), error: str((d.error as Data | undefined)?.message), result: d.result });
  } else if (root === 'approvals' && a) {
    const r = s.runs.get(a);
    if (r) r.decision = { decision: str(d.decision) ?? '?', by: str(d.by), reason: str(d.reason) };
  }
}

/** Nearest-rank percentile of `values` (null when empty). */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const v = [...values].sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]!;
}
