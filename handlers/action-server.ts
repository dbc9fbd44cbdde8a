import type { Logger } from 'pino';
import { ActionRequestData, describeZodError, DURABLE_STREAMS, DurableConsumer, ensureStream, subjects, type ActionResultData, type BusClient, type Envelope } from '../bus/index.js';
import type { ActionHandler } from './action.js';
import type { IdempotencyLedger, RecordedResult } from './idempotency-ledger.js';
import { HandlerError, InvalidParamsError, UnknownActionError } from './errors.js';

const MAX_OUTPUT = 16_384;
const bound = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_OUTPUT ? s.slice(-MAX_OUTPUT) : s);

/**
 * Subscribes to `actions.>` and dispatches each request to its handler: validate, run, catch,
 * log and always answer on `results.<actionId>` with status, duration and any error.
 */
export class ActionServer {
  readonly #handlers = new Map<string, ActionHandler>();
  #ledger: IdempotencyLedger | null = null;
  #consumer: DurableConsumer<typeof ActionRequestData> | null = null;

  constructor(
    private readonly bus: BusClient,
    private readonly log: Logger,
  ) {}

  /** Registers handlers; a duplicate name fails at start-up. */
  register(...handlers: ActionHandler[]): this {
    for (const h of handlers) {
      if (this.#handlers.has(h.name)) throw new HandlerError('HANDLER_DUPLICATE', `action "${h.name}" is registered twice`);
      this.#handlers.set(h.name, h);
    }
    return this;
  }

  get actions(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Serves `actions.>` on core NATS (queue group `handlers`); without a ledger, keys are not checked. */
  start(): void {
    this.bus.subscribe('actions.>', ActionRequestData, (env) => this.#handle(env), { queue: 'handlers' });
  }

  /**
   * Serves the durable bus instead: the HOMEOSTAT_ACTIONS stream through the durable consumer
   * `handlers` (acknowledged once the result is published), with the idempotency ledger.
   */
  async startDurable(ledger: IdempotencyLedger, opts: { ackWaitMs?: number; maxDeliver?: number } = {}): Promise<void> {
    this.#ledger = ledger;
    await ensureStream(this.bus, DURABLE_STREAMS.actions);
    this.#consumer = await DurableConsumer.start(
      this.bus,
      { stream: DURABLE_STREAMS.actions.name, durable: 'handlers', schema: ActionRequestData, ackWaitMs: opts.ackWaitMs ?? 60_000, maxDeliver: opts.maxDeliver ?? 5, handler: (env) => this.#handle(env) },
      this.log,
    );
  }

  /** Stops the durable consumer (waits for the actions being handled). */
  async stop(): Promise<void> {
    await this.#consumer?.stop();
  }

  async #handle(env: Envelope<ActionRequestData>): Promise<void> {
    const req = env.data;
    const log = this.log.child({ actionId: req.actionId, runId: req.runId, target: req.target, action: req.action, key: req.idempotencyKey });
    const publish = (r: RecordedResult, replayed: boolean) => {
      const res: ActionResultData = { ...r, actionId: req.actionId, ...(replayed ? { replayed } : {}) };
      this.bus.publish(subjects.result(req.actionId), 'action.result', res, { target: req.target });
      log[res.status === 'ok' ? 'info' : 'warn']({ status: res.status, durationMs: res.durationMs, error: res.error?.message, replayed }, 'action done');
    };
    const sentAt = Date.parse(env.time);
    if (req.timeoutMs && Date.now() > sentAt + req.timeoutMs) {
      // the caller stopped waiting (e.g. a request redelivered after a handler died): acting now would surprise it
      publish({ action: req.action, status: 'failed', durationMs: 0, result: {}, error: { code: 'HANDLER_EXPIRED', message: `request expired ${Date.now() - sentAt - req.timeoutMs} ms ago; not executed` } }, false);
      return;
    }
    if (this.#ledger && req.idempotencyKey) {
      const { result, replayed } = await this.#ledger.once(req.idempotencyKey, () => this.#execute(req, env.subject, log));
      publish(result, replayed);
    } else {
      publish(await this.#execute(req, env.subject, log), false);
    }
  }

  async #execute(req: ActionRequestData, subject: string | undefined, log: Logger): Promise<RecordedResult> {
    const started = performance.now();
    const answer = (r: Omit<ActionResultData, 'actionId' | 'action' | 'durationMs'>): RecordedResult => ({ action: req.action, durationMs: Math.round((performance.now() - started) * 10) / 10, ...r });
    try {
      const handler = this.#handlers.get(req.action);
      if (!handler || subject !== `actions.${req.action}`) throw new UnknownActionError(req.action, this.actions);
      const params = handler.params.safeParse({ ...req.params, ...(req.target ? { target: req.target } : {}) });
      if (!params.success) throw new InvalidParamsError(req.action, describeZodError(params.error));
      const out = await handler.run(params.data, { actionId: req.actionId, runId: req.runId, log, timeoutMs: req.timeoutMs });
      return answer({ status: 'ok', result: out.result ?? {}, exitCode: out.exitCode, stdout: bound(out.stdout), stderr: bound(out.stderr) });
    } catch (e) {
      const err = e as Error & { code?: string; refused?: boolean };
      return answer({
        status: err.refused ? 'refused' : 'failed',
        result: {},
        error: { code: err.code ?? 'HANDLER_FAILED', message: err.message },
      });
    }
  }
}
