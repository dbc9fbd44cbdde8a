import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ApprovalData, runIdsByPrefix, subjects, type BusClient, type ControlReplyData, type Envelope } from '../bus/index.js';

/** An operator's answer to an approval request, or the timeout that counts as a rejection. */
export type ApprovalDecision =
  | { approved: true; by?: string; reason?: string }
  | { approved: false; by?: string; reason: string; timedOut: boolean };

interface Waiting {
  step: string;
  resolve(d: ApprovalDecision): void;
}

/** Answers a NATS request (when the sender asked for an answer) with a {@link ControlReplyData}. */
export function replyTo(bus: BusClient, msg: Msg, reply: ControlReplyData): void {
  bus.respond(msg, 'control.reply', reply);
}

/**
 * Human approval of gated steps. A run waiting for approval registers here before it publishes
 * `runs.<runId>.awaiting_approval`; a decision on `approvals.<runId>` (only the operator role may
 * publish there) releases it; `<runId>` may be a unique prefix of a waiting run's id (at least 8
 * characters), so `homeostat approve` works with the 12 characters `homeostat runs` prints even when
 * the store has not recorded the run yet. Waiting past the timeout is a rejection. Approvals for runs
 * this engine does not hold are ignored (another engine may hold them), so a request for an unknown
 * run gets no answer; a prefix naming several waiting runs is refused with the candidates.
 */
export class ApprovalGate {
  readonly #waiting = new Map<string, Waiting>();

  constructor(
    private readonly bus: BusClient,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.bus.subscribe(subjects.approvalsAll, ApprovalData, (env, msg) => this.#decide(env, msg), { acceptBare: true });
  }

  /** Run ids currently waiting for a decision. */
  get waiting(): string[] {
    return [...this.#waiting.keys()];
  }

  /** Waits for a decision on `approvals.<runId>`; `timeoutMs` without one is a rejection. */
  wait(runId: string, step: string, timeoutMs: number): Promise<ApprovalDecision> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(runId);
        resolve({ approved: false, reason: `no decision within ${timeoutMs} ms`, timedOut: true });
      }, timeoutMs);
      timer.unref();
      this.#waiting.set(runId, {
        step,
        resolve: (d) => {
          clearTimeout(timer);
          this.#waiting.delete(runId);
          resolve(d);
        },
      });
    });
  }

  #decide(env: Envelope<ApprovalData>, msg: Msg): void {
    const token = msg.subject.split('.')[1] ?? '';
    const matches = runIdsByPrefix(token, this.#waiting.keys());
    if (matches.length > 1) {
      replyTo(this.bus, msg, { accepted: false, message: `run id prefix "${token}" matches ${matches.length} runs waiting for approval; give more characters: ${matches.join(', ')}` });
      return;
    }
    const runId = matches[0];
    const w = runId === undefined ? undefined : this.#waiting.get(runId);
    if (runId === undefined || !w) {
      this.log.debug({ runId: token }, 'approval for a run not waiting here; ignored');
      return;
    }
    const { decision, reason, by } = env.data;
    this.log.info({ runId, step: w.step, decision, by, reason }, 'approval decision');
    w.resolve(decision === 'approve' ? { approved: true, by, reason } : { approved: false, by, reason: reason ?? 'rejected', timedOut: false });
    replyTo(this.bus, msg, { accepted: true, message: `run ${runId}: step "${w.step}" ${decision === 'approve' ? 'approved' : 'rejected'}` });
  }
}
