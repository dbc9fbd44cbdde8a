import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { ActionResultData, RunPhaseData, subjects, type BusClient } from '../bus/index.js';
import { runningTracing } from './tracing-sdk.js';

/** A target's downtime cost per minute and manual MTTR (targets.yaml `impact`). */
export interface MetricsImpact {
  costPerMinute?: number;
  manualMttrMs?: number;
}

export interface BusMetricsOptions {
  /** A bus client allowed to read `events.>`, `runs.>`, `results.>`, `deadletter.>` and `acl.violation` (the intake role). */
  bus: BusClient;
  impact?: (target: string) => MetricsImpact | undefined;
  /** Writes waiting in the recorder's queue (the store's backlog), when a recorder runs in this process. */
  storeQueueDepth?: () => number | undefined;
  /** Node.js process metrics (event loop lag, heap, GC); default on. */
  processMetrics?: boolean;
}

/** Seconds buckets for detection and recovery: 50 ms to 30 min. */
const TIME_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];
const ACTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const MAX_REMEMBERED = 10_000;

/** `not JSON: …` → `not_json`; `invalid data for …` → `invalid_data`; a bounded set, so labels stay few. */
export function reasonClass(reason: string): string {
  if (reason.startsWith('not JSON')) return 'not_json';
  if (reason.startsWith('invalid envelope')) return 'invalid_envelope';
  if (reason.startsWith('invalid data')) return 'invalid_data';
  if (reason.startsWith('exhausted')) return 'exhausted_deliveries';
  if (/refused|denied|unknown/i.test(reason)) return 'refused';
  return 'other';
}

/** When the fault began, from an event's data (`since`, or the last heartbeat seen), in epoch ms. */
function onsetOf(data: unknown): number | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as { since?: unknown; lastSeen?: unknown };
  const at = typeof d.since === 'string' ? d.since : typeof d.lastSeen === 'string' ? d.lastSeen : null;
  const ms = at ? Date.parse(at) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The Prometheus metrics of a stack, read from the bus (so they count what every component did,
 * in this process or not): events by family, dead letters by origin and reason class, runs by
 * playbook and outcome, MTTD and MTTR per event family, action latency, ACL violations, flap-budget
 * exhaustions, approvals waiting, downtime and its cost, the store's queue and dropped spans.
 */
export class BusMetrics {
  readonly registry = new Registry();
  readonly #events = new Map<string, { family: string; time: number; target: string }>();
  readonly #waiting = new Set<string>();
  readonly #m;

  constructor(private readonly o: BusMetricsOptions) {
    const r = [this.registry];
    this.#m = {
      events: new Counter({ name: 'homeostat_events_total', help: 'Events received, by family and kind', labelNames: ['family', 'kind'], registers: r }),
      deadletters: new Counter({ name: 'homeostat_deadletters_total', help: 'Messages dead-lettered, by origin and reason class', labelNames: ['origin', 'reason_class'], registers: r }),
      runs: new Counter({ name: 'homeostat_runs_total', help: 'Runs ended, by playbook and outcome', labelNames: ['playbook', 'outcome'], registers: r }),
      runsStarted: new Counter({ name: 'homeostat_runs_started_total', help: 'Runs started, by playbook', labelNames: ['playbook'], registers: r }),
      mttd: new Histogram({ name: 'homeostat_mttd_seconds', help: 'Fault onset (the event\'s since / last heartbeat) to detection, by event family', labelNames: ['family'], buckets: TIME_BUCKETS, registers: r }),
      mttr: new Histogram({ name: 'homeostat_mttr_seconds', help: 'Detection (the triggering event) to recovery (its run resolved), by event family', labelNames: ['family'], buckets: TIME_BUCKETS, registers: r }),
      action: new Histogram({ name: 'homeostat_action_duration_seconds', help: 'Action and probe latency in the handler, by action and status', labelNames: ['action', 'status'], buckets: ACTION_BUCKETS, registers: r }),
      acl: new Counter({ name: 'homeostat_acl_violations_total', help: 'Permission violations reported on acl.violation, by operation', labelNames: ['operation'], registers: r }),
      budget: new Counter({ name: 'homeostat_flap_budget_exhausted_total', help: 'Flap budgets exhausted, by playbook', labelNames: ['playbook'], registers: r }),
      approvals: new Gauge({ name: 'homeostat_approvals_waiting', help: 'Runs waiting for an operator\'s approval', registers: r }),
      downtime: new Counter({ name: 'homeostat_downtime_seconds_total', help: 'Downtime (detection → recovered) of incidents Homeostat healed, by target', labelNames: ['target'], registers: r }),
      avoided: new Counter({ name: 'homeostat_downtime_avoided_seconds_total', help: 'Downtime avoided against the target\'s manual MTTR, by target', labelNames: ['target'], registers: r }),
      cost: new Counter({ name: 'homeostat_downtime_cost_total', help: 'What the downtime cost (targets.yaml impact.costPerMinute), by target', labelNames: ['target'], registers: r }),
      saved: new Counter({ name: 'homeostat_cost_avoided_total', help: 'Cost avoided against a manual repair (the money saved), by target', labelNames: ['target'], registers: r }),
    };
    const queue = o.storeQueueDepth;
    new Gauge({ name: 'homeostat_store_queue_depth', help: 'Records waiting to be written to the store', registers: r, collect() { this.set(queue?.() ?? 0); } });
    new Gauge({
      name: 'homeostat_otel_spans', help: 'Spans this process exported or dropped (OTLP endpoint unreachable or refusing)', labelNames: ['result'], registers: r,
      collect() {
        const s = runningTracing()?.stats ?? { exported: 0, dropped: 0 };
        this.set({ result: 'exported' }, s.exported);
        this.set({ result: 'dropped' }, s.dropped);
      },
    });
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'homeostat_process_' });
  }

  /** Subscribes to what the metrics count. */
  start(): void {
    const bus = this.o.bus;
    bus.subscribe(subjects.eventsAll, z.unknown(), (env, msg) => this.#onEvent(env.id, msg.subject, env.time, env.target, env.data));
    bus.subscribe(subjects.runsAll, RunPhaseData, (env, msg) => this.#onRun(msg.subject.split('.')[2] ?? '', env.data, env.time));
    bus.subscribe('results.>', ActionResultData, (env) => this.#m.action.observe({ action: env.data.action, status: env.data.status }, env.data.durationMs / 1000));
    bus.subscribe('deadletter.>', z.object({ reason: z.string() }).passthrough(), (env, msg) => this.#m.deadletters.inc({ origin: msg.subject.split('.')[1] ?? 'unknown', reason_class: reasonClass(env.data.reason) }));
    bus.subscribe(subjects.aclViolation, z.object({ operation: z.string() }).passthrough(), (env) => this.#m.acl.inc({ operation: env.data.operation }));
  }

  /** The scrape: Prometheus text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #onEvent(id: string, subject: string, time: string, envTarget: string | undefined, data: unknown): void {
    const [, family = 'unknown', kind = 'unknown'] = subject.split('.');
    this.#m.events.inc({ family, kind });
    if (family === 'playbook' && kind === 'budget_exhausted') this.#m.budget.inc({ playbook: (data as { playbook?: string }).playbook ?? 'unknown' });
    const at = Date.parse(time);
    const onset = onsetOf(data);
    if (onset !== null && at >= onset) this.#m.mttd.observe({ family }, (at - onset) / 1000);
    const target = envTarget ?? (typeof (data as { target?: unknown })?.target === 'string' ? (data as { target: string }).target : '_global');
    // a run names its triggering event: remembered (bounded) to measure detection → recovery
    this.#events.set(id, { family, time: at, target });
    if (this.#events.size > MAX_REMEMBERED) this.#events.delete(this.#events.keys().next().value!);
  }

  #onRun(phase: string, d: RunPhaseData, time: string): void {
    if (phase === 'started') this.#m.runsStarted.inc({ playbook: d.playbook });
    if (phase === 'awaiting_approval') this.#waiting.add(d.runId);
    else this.#waiting.delete(d.runId);
    this.#m.approvals.set(this.#waiting.size);
    if (phase !== 'resolved' && phase !== 'failed' && phase !== 'stopped') return;
    this.#m.runs.inc({ playbook: d.playbook, outcome: phase });
    const ev = d.eventId ? this.#events.get(d.eventId) : undefined;
    if (phase !== 'resolved' || !ev) return;
    const downMs = Math.max(0, Date.parse(time) - ev.time);
    this.#m.mttr.observe({ family: ev.family }, downMs / 1000);
    const target = d.target ?? ev.target;
    this.#m.downtime.inc({ target }, downMs / 1000);
    const impact = this.o.impact?.(target);
    const avoidedMs = impact?.manualMttrMs !== undefined ? Math.max(0, impact.manualMttrMs - downMs) : null;
    if (avoidedMs !== null) this.#m.avoided.inc({ target }, avoidedMs / 1000);
    if (impact?.costPerMinute !== undefined) {
      this.#m.cost.inc({ target }, (downMs / 60_000) * impact.costPerMinute);
      if (avoidedMs !== null) this.#m.saved.inc({ target }, (avoidedMs / 60_000) * impact.costPerMinute);
    }
  }
}
