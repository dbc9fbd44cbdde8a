// the bus contract, shared with the engine and the recorder (types only: nothing of zod reaches the page)
import type { ActionResultData } from '../../../bus/payloads';
import type { ActiveRunData, RunAwaitingApprovalDetail, RunPhaseData } from '../../../bus/run-phase-payloads';
import type { BusItem } from './live-connection';

export interface ActionView {
  actionId: string;
  action: string;
  params: unknown;
  requestedAt: string;
  status?: string;
  /** The command as an operator reads it (`results.<id>.command`). */
  command?: string;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  durationMs?: number;
  error?: string;
  result?: unknown;
  /** The target's health % just before and after the call, when the handler measured it. */
  healthBefore?: number | null;
  healthAfter?: number | null;
  /** The step (index in `RunView.steps`) the call belongs to, once that step has finished. */
  step?: number;
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
  /** From the store (a run recorded before the page opened): its last call's exit code and the health before → after. */
  exitCode?: number | null;
  healthBefore?: string;
  healthAfter?: string;
}

export type Awaiting = Pick<RunAwaitingApprovalDetail, 'action' | 'params' | 'risk' | 'expiresAt'> & { step: string };

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
  /** A `runs.<id>.*` message was applied: the live model is newer than any snapshot. */
  live?: boolean;
  /** Steps and calls read from the store (`GET /dashboard/api/runs/:id`) for a run the page did not see live; `error` says why not. */
  recorded?: { state: 'loading' | 'loaded' } | { state: 'error'; error: string };
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
  /** Envelope ids applied, in two generations (the older dropped when the newer is full): no copy of a big set. */
  seen: Set<string>;
  seenBefore: Set<string>;
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
  /** The runs the engines hold now (`engine.runs.active`), or `{ error }`. */
  active?: ActiveRunData[] | { error: string };
  scorecards: unknown;
}

const MAX_EVENTS = 300;
const MAX_RUNS = 300;
const MAX_SEEN = 10_000;
const MAX_ACTIONS = 20_000;
export const LAG_KEPT = 1000;

export function emptyState(): DashboardState {
  return { snapshot: null, runs: new Map(), actionRuns: new Map(), events: [], targetEvents: new Map(), seen: new Set(), seenBefore: new Set(), received: 0, lagMs: [], lagNext: 0 };
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

/**
 * The runs the engines hold now (`engine.runs.active`, asked at page load): a run the page has not
 * followed live takes its status and waiting step from the engine, so the approval box shows even
 * when the `awaiting_approval` message is older than what the server kept.
 */
export function runsFromActive(s: DashboardState, active: unknown): void {
  if (!Array.isArray(active)) return;
  for (const a of active as ActiveRunData[]) {
    const r = run(s, { runId: a.runId, playbook: a.playbook, target: a.target }, a.startedAt);
    if (r.live) continue;
    r.status = a.status;
    r.startedAt = a.startedAt;
    r.endedAt = undefined;
    r.awaiting = a.awaiting ? { step: a.awaiting.step, action: a.awaiting.action, params: a.awaiting.params, risk: a.awaiting.risk, expiresAt: a.awaiting.expiresAt } : undefined;
  }
}

const pct = (v: unknown) => (typeof v === 'number' ? `${v} %` : undefined);
const healthWord = (h: unknown) => {
  const o = h as Data | null | undefined;
  if (!o || typeof o !== 'object') return undefined;
  if (typeof o.healthPct === 'number') return `${o.healthPct} %`;
  if (typeof o.usagePct === 'number') return `${Math.round((100 - o.usagePct) * 10) / 10} %`;
  return o.healthy === true ? 'healthy' : o.healthy === false ? 'unhealthy' : undefined;
};

/** A run's steps and calls as the store recorded them (`homeostat runs ID`'s data), for a run not seen live. */
export function applyRecorded(r: RunView, detail: unknown): void {
  const d = detail as { steps?: Data[]; actions?: Data[] } | null;
  if (!d || r.steps.length || r.actions.length) return;
  const actions = d.actions ?? [];
  r.steps = (d.steps ?? []).map((st) => {
    const mine = actions.filter((a) => a.stepSeq === st.seq);
    return {
      id: str(st.step) ?? '?', status: str(st.status) ?? '?', action: str(st.action), params: st.params, attempts: num(st.attempts), durationMs: num(st.durationMs),
      reason: str(st.error), result: st.result, at: str(st.endedAt) ?? '', exitCode: st.exitCode as number | null | undefined,
      healthBefore: pct(mine[0]?.healthBeforePct) ?? healthWord(st.healthBefore), healthAfter: pct(mine.at(-1)?.healthAfterPct) ?? healthWord(st.healthAfter),
    };
  });
  const seqs = (d.steps ?? []).map((st) => st.seq);
  r.actions = actions.map((a) => ({
    actionId: str(a.id) ?? '?', action: str(a.action) ?? '?', params: a.params, requestedAt: str(a.requestedAt) ?? '', status: str(a.status), command: str(a.command),
    exitCode: a.exitCode as number | null | undefined, stdout: str(a.stdout), stderr: str(a.stderr), durationMs: num(a.durationMs), error: str(a.error), result: a.result,
    healthBefore: num(a.healthBeforePct) ?? null, healthAfter: num(a.healthAfterPct) ?? null, step: a.stepSeq === null ? undefined : seqs.indexOf(a.stepSeq),
  }));
}

/** A step's health before → after, from its calls' health % (live), or as recorded. */
export function stepHealth(r: RunView, index: number): string | undefined {
  const st = r.steps[index];
  if (!st) return undefined;
  if (st.healthBefore || st.healthAfter) return `${st.healthBefore ?? '?'} → ${st.healthAfter ?? '?'}`;
  const mine = r.actions.filter((a) => a.step === index);
  const before = mine.find((a) => typeof a.healthBefore === 'number')?.healthBefore;
  const after = mine.findLast((a) => typeof a.healthAfter === 'number')?.healthAfter;
  return before === undefined && after === undefined ? undefined : `${pct(before) ?? '?'} → ${pct(after) ?? '?'}`;
}

/** A step's exit code: as recorded, else its last call's. */
export function stepExit(r: RunView, index: number): number | null | undefined {
  const st = r.steps[index];
  if (st?.exitCode !== undefined) return st.exitCode;
  return r.actions.findLast((a) => a.step === index && a.exitCode !== undefined)?.exitCode;
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
  if (s.seen.has(env.id) || s.seenBefore.has(env.id)) return;
  s.seen.add(env.id);
  if (s.seen.size >= MAX_SEEN) {
    s.seenBefore = s.seen;
    s.seen = new Set();
  }
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
    const p = env.data as RunPhaseData;
    const r = run(s, d, env.time);
    r.live = true;
    const detail = p.detail ?? {};
    if (b === 'started') r.status = 'running';
    else if (b === 'awaiting_approval') {
      r.status = 'awaiting_approval';
      r.awaiting = { step: p.step ?? '?', action: detail.action ?? '?', params: detail.params, risk: detail.risk ?? 'low', expiresAt: detail.expiresAt ?? env.time };
    } else if (b === 'step') {
      if (r.status === 'awaiting_approval') r.status = 'running';
      r.awaiting = undefined;
      const index = r.steps.length;
      r.steps.push({ id: p.step ?? '?', stage: detail.stage, status: p.status ?? '?', action: detail.action, params: detail.params, attempts: detail.attempts, durationMs: p.durationMs, reason: p.reason, result: detail.result, at: env.time });
      // the calls made since the previous step finished are this step's
      for (const x of r.actions) x.step ??= index;
    } else if (b === 'resolved' || b === 'failed' || b === 'stopped') {
      r.status = b;
      r.endedAt = env.time;
      r.reason = p.reason;
      r.awaiting = undefined;
    }
  } else if (root === 'actions' && str(d.runId) && str(d.actionId)) {
    const r = run(s, d, env.time);
    s.actionRuns.set(str(d.actionId)!, r.runId);
    if (s.actionRuns.size > MAX_ACTIONS) s.actionRuns.delete(s.actionRuns.keys().next().value!);
    if (!r.actions.some((x) => x.actionId === d.actionId)) r.actions.push({ actionId: str(d.actionId)!, action: str(d.action) ?? `${a}.${b}`, params: d.params, requestedAt: env.time });
  } else if (root === 'results') {
    const res = env.data as ActionResultData;
    const runId = s.actionRuns.get(res.actionId ?? a ?? '');
    const act = runId ? s.runs.get(runId)?.actions.find((x) => x.actionId === res.actionId) : undefined;
    if (act) {
      Object.assign(act, {
        status: res.status, command: res.command ?? str((res.result as Data | undefined)?.command), exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr,
        durationMs: res.durationMs, error: res.error?.message, result: res.result, healthBefore: res.healthBefore, healthAfter: res.healthAfter,
      });
    }
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
