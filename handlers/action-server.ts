import type { Logger } from 'pino';
import type { Msg } from '@nats-io/transport-node';
import { z } from 'zod';
import { ActionRequestData, describeZodError, failSpan, inSpan, messagingAttributes, SpanKind, DURABLE_STREAMS, DurableConsumer, ensureStream, subjects, type ActionResultData, type BusClient, type Envelope } from '../bus/index.js';
import type { ActionHandler } from './action.js';
import type { IdempotencyLedger, RecordedResult } from './idempotency-ledger.js';
import { HandlerError, InvalidParamsError, UnknownActionError } from './errors.js';

const MAX_OUTPUT = 16_384;
const bound = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_OUTPUT ? s.slice(-MAX_OUTPUT) : s);

/** An action's command when its handler gives none: `<action> <params as JSON>`, e.g. `process.restart {"target":"web"}`. */
const commandOf = (action: string, params: unknown) => `${action} ${JSON.stringify(params ?? {})}`;
/** A health % kept within 0–100 (null stays null). */
const pct = (v: number | null) => (v === null || !Number.isFinite(v) ? null : Math.min(100, Math.max(0, v)));

/** The answer on `actions.served`: which actions one action server serves. */
export const ServedActionsData = z.object({ component: z.string(), actions: z.array(z.string()) });
export type ServedActionsData = z.infer<typeof ServedActionsData>;

/**
 * Serves actions: mutating ones from `actions.<family>.<verb>` (the durable stream, or core NATS),
 * answered on `results.<actionId>`; read-only probes by request/reply on
 * `actions.<family>.<verb>.probe`, answered on the request's reply inbox; and `actions.served`
 * with the list of what it serves. Every request is validated, run, caught and logged, and always answered.
 */
export class ActionServer {
  readonly #handlers = new Map<string, ActionHandler>();
  #ledger: IdempotencyLedger | null = null;
  #consumer: DurableConsumer<typeof ActionRequestData> | null = null;
  #serving = false;

  constructor(
    private readonly bus: BusClient,
    private readonly log: Logger,
  ) {}

  /** Registers handlers; a duplicate name fails at start-up. */
  register(...handlers: ActionHandler[]): this {
    for (const h of handlers) {
      if (this.#handlers.has(h.name)) throw new HandlerError('HANDLER_DUPLICATE', `action "${h.name}" is registered twice`);
      this.#handlers.set(h.name, h);
      if (this.#serving && h.probe) this.#serveProbe(h);
    }
    return this;
  }

  get actions(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Serves `actions.>` on core NATS (queue group `handlers`); without a ledger, keys are not checked. */
  start(): void {
    this.bus.subscribe(subjects.actionsDurable, ActionRequestData, (env) => this.#handle(env), { queue: 'handlers' });
    this.#serveRequests();
  }

  /** Probes (each on its own subject, so only servers that serve it answer) and `actions.served`. */
  #serveRequests(): void {
    this.#serving = true;
    for (const h of this.#handlers.values()) if (h.probe) this.#serveProbe(h);
    this.bus.subscribe(subjects.actionsServed, z.unknown(), (_env, msg) => {
      this.bus.respond<ServedActionsData>(msg, 'actions.served', { component: this.bus.component, actions: this.actions });
    });
  }

  #serveProbe(h: ActionHandler): void {
    const [family, verb] = h.name.split('.') as [string, string];
    this.bus.subscribe(subjects.probe(family, verb), ActionRequestData, (env, msg) => this.#answerProbe(env, msg), { queue: 'handlers' });
  }

  /** A probe: run it (no ledger: it changes nothing) and answer on the reply inbox only. */
  async #answerProbe(env: Envelope<ActionRequestData>, msg: Msg): Promise<void> {
    const req = env.data;
    const log = this.log.child({ actionId: req.actionId, runId: req.runId, target: req.target, action: req.action });
    const r = await this.#traced('probe', env, msg.subject, () => this.#execute(req, msg.subject.replace(/\.probe$/, ''), log));
    const res: ActionResultData = { ...r, actionId: req.actionId };
    if (!this.bus.respond(msg, 'action.result', res)) log.warn('probe request without a reply inbox; not answered');
    log.debug({ status: res.status, durationMs: res.durationMs }, 'probe answered');
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
    this.#serveRequests();
  }

  /** Stops the durable consumer (waits for the actions being handled). */
  async stop(): Promise<void> {
    await this.#consumer?.stop();
  }

  /** One action or probe as a CONSUMER span (child of the engine's step span the request carried). */
  #traced(kind: 'action' | 'probe', env: Envelope<ActionRequestData>, subject: string, run: () => Promise<RecordedResult>): Promise<RecordedResult> {
    const req = env.data;
    const attributes = {
      ...messagingAttributes(subject, 'process', { messageId: env.id, consumerGroup: 'handlers' }),
      'homeostat.action': req.action, 'homeostat.action.id': req.actionId, 'homeostat.component': this.bus.component,
      ...(req.runId ? { 'homeostat.run.id': req.runId } : {}), ...(req.target ? { 'homeostat.target': req.target } : {}),
    };
    return inSpan(`${kind} ${req.action}`, { kind: SpanKind.CONSUMER, attributes }, async (span) => {
      const r = await run();
      span.setAttributes({ 'homeostat.action.status': r.status, 'homeostat.action.duration_ms': r.durationMs });
      if (r.status !== 'ok') failSpan(span, r.error?.message ?? r.status);
      return r;
    });
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
      const { result, replayed } = await this.#ledger.once(req.idempotencyKey, () => this.#traced('action', env, env.subject ?? '', () => this.#execute(req, env.subject, log)));
      publish(result, replayed);
    } else {
      publish(await this.#traced('action', env, env.subject ?? '', () => this.#execute(req, env.subject, log)), false);
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
      return answer({
        status: 'ok', result: out.result ?? {}, exitCode: out.exitCode, stdout: bound(out.stdout), stderr: bound(out.stderr),
        command: (out.command ?? commandOf(req.action, params.data)).slice(0, 2000),
        ...(out.healthBefore !== undefined ? { healthBefore: pct(out.healthBefore) } : {}),
        ...(out.healthAfter !== undefined ? { healthAfter: pct(out.healthAfter) } : {}),
      });
    } catch (e) {
      const err = e as Error & { code?: string; refused?: boolean };
      return answer({
        status: err.refused ? 'refused' : 'failed',
        command: commandOf(req.action, req.params).slice(0, 2000),
        result: {},
        error: { code: err.code ?? 'HANDLER_FAILED', message: err.message },
      });
    }
  }
}
