import type { Logger } from 'pino';
import { RunPhaseData, subjects, type BusClient, type Envelope } from '../bus/index.js';
import { actionSpec } from './action-registry.js';
import type { LifecycleConfig, LifecycleStage } from './notify-config.js';
import type { NotifyRouter } from './notify-router.js';

interface Followed {
  playbook: string;
  target: string;
  event: string | null;
  family: string | null;
  eventAt: number;
  steps: string[];
  sent: Set<LifecycleStage>;
}

const MAX_FOLLOWED = 5_000;

const ms = (n: number) => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`);

/**
 * Lifecycle notifications per incident (one run of a playbook), as in the AegisOps notes: received
 * (the run started on an event), diagnosing (its first probe step finished), executing (its first
 * remediation step finished), resolved (with MTTR: the event → resolved) and failed (failed or
 * stopped, with the reason). Each stage sends at the severity notify.yaml's `lifecycle` gives it, or
 * not at all (`off`), through the {@link NotifyRouter}, which never waits on a sink: following runs
 * can never delay one.
 */
export class LifecycleNotifier {
  readonly #runs = new Map<string, Followed>();
  /** Notifications sent per stage. */
  readonly stats: Record<LifecycleStage, number> = { received: 0, diagnosing: 0, executing: 0, resolved: 0, failed: 0 };

  constructor(
    private readonly bus: BusClient,
    private readonly router: NotifyRouter,
    private readonly config: LifecycleConfig,
    private readonly log: Logger,
  ) {}

  /** Follows `runs.>` (no subscription when every stage is off). */
  start(): void {
    if (Object.values(this.config).every((s) => s === 'off')) return;
    this.bus.subscribe(subjects.runsAll, RunPhaseData, (env) => this.#onPhase(env));
  }

  #onPhase(env: Envelope<RunPhaseData>): void {
    const d = env.data;
    const phase = env.subject?.split('.')[2] ?? '';
    let run = this.#runs.get(d.runId);
    if (phase === 'started') {
      if (run) return; // a resumed run announces itself again
      const event = d.detail?.event ?? null;
      const eventTime = d.detail?.eventTime ? Date.parse(d.detail.eventTime) : NaN;
      run = { playbook: d.playbook, target: d.target ?? env.target ?? '_global', event, family: event?.split('.')[1] ?? null, eventAt: Number.isFinite(eventTime) ? eventTime : Date.parse(env.time), steps: [], sent: new Set() };
      this.#runs.set(d.runId, run);
      if (this.#runs.size > MAX_FOLLOWED) this.#runs.delete(this.#runs.keys().next().value!);
      this.#send('received', run, d.runId, `${event ?? 'an event'} on ${run.target}: ${run.playbook} takes it`);
      return;
    }
    if (!run) return;
    if (phase === 'step') {
      const action = d.detail?.action ?? null;
      run.steps.push(`${d.step ?? '?'} ${d.status ?? '?'}`);
      if (!action || d.status === 'skipped' || (d.detail?.stage !== undefined && d.detail.stage !== 'main')) return;
      if (action === 'playbook.run') return; // the approval of a playbook an LLM diagnosis chose: not an action
      if (action === 'diagnose') {
        const r = (d.detail?.result ?? {}) as { diagnosis?: { playbook?: string | null; confidence?: number }; provider?: string };
        const what = r.diagnosis ? `LLM (${r.provider ?? '?'}) chose ${r.diagnosis.playbook ?? 'no playbook'} at confidence ${r.diagnosis.confidence ?? '?'}` : `LLM diagnosis ${d.status ?? '?'}${d.reason ? `: ${d.reason.slice(0, 200)}` : ''}`;
        if (!run.sent.has('executing')) this.#send('diagnosing', run, d.runId, `diagnosing ${run.target}: ${what}`);
        return;
      }
      const probe = actionSpec(action)?.probe ?? false;
      if (probe && !run.sent.has('executing')) this.#send('diagnosing', run, d.runId, `diagnosing ${run.target}: ${action} ${d.status}`);
      else if (!probe) this.#send('executing', run, d.runId, `executing on ${run.target}: ${action} ${d.status}${d.durationMs !== undefined ? ` in ${ms(d.durationMs)}` : ''}`);
      return;
    }
    if (phase === 'resolved' || phase === 'failed' || phase === 'stopped') {
      this.#runs.delete(d.runId);
      const mttr = Date.parse(env.time) - run.eventAt;
      if (phase === 'resolved') this.#send('resolved', run, d.runId, `${run.target} healed by ${run.playbook} (MTTR ${ms(mttr)})`, { mttr: ms(mttr), mttrMs: mttr });
      else this.#send('failed', run, d.runId, `${run.playbook} ${phase} on ${run.target}: ${d.reason ?? 'no reason given'}`, { reason: d.reason ?? null });
    }
  }

  /** Sends a stage once per run, when it is on. */
  #send(stage: LifecycleStage, run: Followed, runId: string, message: string, extra: Record<string, unknown> = {}): void {
    const severity = this.config[stage];
    if (severity === 'off' || run.sent.has(stage)) return;
    run.sent.add(stage);
    this.stats[stage]++;
    const out = this.router.send({
      message,
      severity,
      target: run.target,
      stage,
      ...(run.family ? { family: run.family } : {}),
      details: { stage, playbook: run.playbook, run: runId, ...(run.event ? { event: run.event } : {}), ...(run.steps.length ? { steps: run.steps.join(', ') } : {}), ...extra },
    });
    if (out.dropped.length) this.log.warn({ stage, runId, dropped: out.dropped }, 'lifecycle notification dropped by full sink queues');
  }
}
