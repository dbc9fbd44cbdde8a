import { connect, headers, NoRespondersError as NatsNoResponders, PermissionViolationError, RequestError, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { context, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { Kvm, type KV } from '@nats-io/kv';
import { describeZodError, EnvelopeSchema, makeEnvelope, newId, type Envelope } from './envelope.js';
import { KvRecords } from './atomic-records.js';
import { DurableOutbox, type DurableOutboxOptions } from './durable-outbox.js';
import { eventProblem, type EventData, type EventFamily, type EventKind } from './event-catalogue.js';
import { NoRespondersError, RequestTimeoutError } from './errors.js';
import type { AclViolationData } from './payloads.js';
import type { Credentials } from './nats-server.js';
import { subjects } from './subjects.js';
import { injectTrace, messagingAttributes, SpanKind, startSpan, withMessageContext, withSpan } from './trace-context.js';

export interface SubscribeOptions {
  queue?: string;
  /**
   * Accept a bare JSON object (not an envelope) and wrap it, so users can publish
   * `{"target":"worker-1"}` with a plain `nats pub`. Used for `chaos.*` and `approvals.*`.
   */
  acceptBare?: boolean;
}

export type EnvelopeHandler<T> = (env: Envelope<T>, msg: Msg) => void | Promise<void>;

const MAX_RAW = 4096;

/** Subjects the durable bus stores (HOMEOSTAT_EVENTS, HOMEOSTAT_ACTIONS): their envelope id is the JetStream message id. */
const DURABLE_SUBJECT = /^(events|actions)\./;
function msgIdHeader(id: string) {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  return h;
}

/** Headers of one publish: the durable message id and the active trace context, when there is either. */
function publishOptions(subject: string, id: string): { headers: MsgHdrs } | undefined {
  const h = injectTrace(DURABLE_SUBJECT.test(subject) ? msgIdHeader(id) : undefined);
  return h ? { headers: h } : undefined;
}

/** Request options: the timeout, and the active trace context when there is one. */
function requestOptions(timeout: number): { timeout: number; headers?: MsgHdrs } {
  const h = injectTrace();
  return h ? { timeout, headers: h } : { timeout };
}

/** Answers `msg` with the active trace context in the answer's headers. */
function respondTraced(msg: Msg, body: string): boolean {
  const h = injectTrace();
  return h ? msg.respond(body, { headers: h }) : msg.respond(body);
}

/**
 * One component's connection to the bus: typed publish, validated subscribe with
 * dead-lettering, and action calls that wait for `results.<actionId>`.
 */
export class BusClient {
  readonly deadlettered = new Map<string, number>();
  #subs: Subscription[] = [];
  #outbox: DurableOutbox | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly component: string,
    readonly log: Logger,
    /** The NATS user this client logged in as (its role or actor), when known. */
    readonly user?: string,
    /** Replicas of the streams and KV buckets this client creates (its credentials'; 1 by default). */
    readonly replicas = 1,
  ) {}

  static async connect(creds: Credentials, component: string, log: Logger): Promise<BusClient> {
    const nc = await connect({
      // a cluster's nodes as a comma list: the client picks one and fails over to the others
      servers: creds.url.split(',').map((u) => u.trim()),
      user: creds.user,
      pass: creds.password,
      name: component,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // no caller stack captured up front for every request and JetStream publish: two Error objects
      // per KV put were 5 % of a busy stack's CPU (bench:intake profile); errors still say what failed
      noAsyncTraces: true,
    });
    const client = new BusClient(nc, component, log.child({ component }), creds.user, creds.replicas ?? 1);
    void client.#watchStatus();
    return client;
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'error' && s.error instanceof PermissionViolationError) {
        const e = s.error;
        this.log.warn({ subject: e.subject, operation: e.operation }, 'permission violation');
        if (e.subject !== subjects.aclViolation) {
          const report: AclViolationData = {
            actor: this.user ?? this.component,
            subject: e.subject,
            operation: e.operation === 'subscription' ? 'subscribe' : 'publish',
            source: 'self-report',
            time: new Date().toISOString(),
            component: this.component,
            ...(e.queue ? { queue: e.queue } : {}),
          };
          this.publish(subjects.aclViolation, 'acl.violation', report);
        }
      } else if (s.type === 'disconnect' || s.type === 'reconnect') {
        this.log.info({ status: s.type }, 'bus connection');
      }
    }
  }

  /** Publishes `data` in an envelope of `type` on `subject`. */
  publish<T>(subject: string, type: string, data: T, extra: { target?: string; trace?: Record<string, string> } = {}): Envelope<T> {
    const env = makeEnvelope(type, this.component, data, { subject, ...extra });
    // an event published outside any span is a detection: it starts the incident's trace
    if (subject.startsWith('events.') && !trace.getSpan(context.active())) {
      const span = startSpan(`${subject} publish`, { kind: SpanKind.PRODUCER, attributes: { ...messagingAttributes(subject, 'send', { messageId: env.id }), 'homeostat.component': this.component, ...(env.target ? { 'homeostat.target': env.target } : {}) } });
      withSpan(span, () => this.#send(subject, env));
      span.end();
    } else this.#send(subject, env);
    return env;
  }

  #send(subject: string, env: Envelope<unknown>): void {
    if (this.#outbox && subject.startsWith('events.')) this.#outbox.push(subject, JSON.stringify(env), env.id, injectTrace());
    else this.nc.publish(subject, JSON.stringify(env), publishOptions(subject, env.id));
  }

  /**
   * From now on, `events.*` go through a {@link DurableOutbox}: kept and retried until the
   * HOMEOSTAT_EVENTS stream stored them, so none is lost while the server restarts. The stream must exist.
   */
  useDurableEvents(opts: DurableOutboxOptions = {}): DurableOutbox {
    this.#outbox ??= new DurableOutbox(this.nc, this.log, opts);
    return this.#outbox;
  }

  /** Sends a refused message to `deadletter.<origin>` with the reason, and counts it. */
  deadletter(msg: Msg, reason: string): void {
    this.deadletterRaw(msg.subject, msg.string(), reason);
  }

  /** Sends a refused message (its subject and text) to `deadletter.<origin>` with the reason, and counts it. */
  deadletterRaw(subject: string, raw: string, reason: string): void {
    const origin = subject.split('.')[0] || 'unknown';
    this.deadlettered.set(origin, (this.deadlettered.get(origin) ?? 0) + 1);
    this.log.warn({ subject, reason }, 'message dead-lettered');
    this.publish(subjects.deadletter(/^[A-Za-z0-9_-]+$/.test(origin) ? origin : 'unknown'), 'deadletter', {
      subject,
      reason,
      droppedBy: this.component,
      raw: raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw,
    });
  }

  /**
   * Publishes `events.<family>.<kind>` with data typed and checked by the event catalogue: data
   * that breaks its schema is dead-lettered here (`deadletter.events`, with the reason), not published.
   */
  publishEvent<F extends EventFamily, K extends EventKind<F>>(family: F, kind: K, data: EventData<F, K>, extra: { target?: string; trace?: Record<string, string> } = {}): Envelope<EventData<F, K>> | null {
    const subject = subjects.event(family, kind);
    const problem = eventProblem(subject, data);
    if (problem) {
      this.deadletterRaw(subject, JSON.stringify(makeEnvelope(`${family}.${kind}`, this.component, data, { subject, ...extra })), problem);
      return null;
    }
    return this.publish(subject, `${family}.${kind}`, data, extra);
  }

  /** Total number of messages this client refused. */
  get deadletterCount(): number {
    let n = 0;
    for (const v of this.deadlettered.values()) n += v;
    return n;
  }

  /**
   * Subscribes with validation: a message that is not JSON, not an envelope, or whose `data`
   * fails `schema` is dead-lettered and never reaches `handler`. A throwing handler is logged
   * and the subscription keeps running.
   */
  subscribe<S extends z.ZodType>(
    pattern: string,
    schema: S,
    handler: EnvelopeHandler<z.infer<S>>,
    opts: SubscribeOptions = {},
  ): Subscription {
    const sub = this.nc.subscribe(pattern, {
      queue: opts.queue,
      callback: (err, msg) => {
        if (err) {
          this.log.error({ err, pattern }, 'subscription error');
          return;
        }
        const env = this.decode(msg, schema, opts.acceptBare ?? false);
        if (!env) return;
        try {
          const r = withMessageContext(msg.headers, () => handler(env, msg));
          if (r instanceof Promise) r.catch((e: unknown) => this.log.error({ err: e, subject: msg.subject }, 'handler failed'));
        } catch (e) {
          this.log.error({ err: e, subject: msg.subject }, 'handler failed');
        }
      },
    });
    this.#subs.push(sub);
    return sub;
  }

  /** Decodes and validates one message; dead-letters it and returns null when invalid. */
  decode<S extends z.ZodType>(msg: Msg, schema: S, acceptBare: boolean): Envelope<z.infer<S>> | null {
    let json: unknown;
    try {
      json = JSON.parse(msg.string());
    } catch (e) {
      this.deadletter(msg, `not JSON: ${(e as Error).message}`);
      return null;
    }
    const looksLikeEnvelope = typeof json === 'object' && json !== null && 'type' in json && 'data' in json;
    let envelope: Envelope;
    if (looksLikeEnvelope || !acceptBare) {
      const parsed = EnvelopeSchema.safeParse(json);
      if (!parsed.success) {
        this.deadletter(msg, `invalid envelope: ${describeZodError(parsed.error)}`);
        return null;
      }
      envelope = parsed.data;
    } else {
      envelope = makeEnvelope(msg.subject, 'bare', json, { subject: msg.subject });
    }
    const data = schema.safeParse(envelope.data);
    if (!data.success) {
      this.deadletter(msg, `invalid data for ${msg.subject}: ${describeZodError(data.error)}`);
      return null;
    }
    return { ...envelope, data: data.data };
  }

  /**
   * Publishes an action request and waits for its result on `results.<actionId>`.
   * Subscribes before publishing, so a fast handler's answer is never missed.
   */
  async call<S extends z.ZodType>(
    subject: string,
    actionId: string,
    data: unknown,
    resultSchema: S,
    timeoutMs: number,
    extra: { target?: string } = {},
  ): Promise<Envelope<z.infer<S>>> {
    const resultSubject = subjects.result(actionId);
    return new Promise((resolve, reject) => {
      const sub = this.nc.subscribe(resultSubject, { max: 1 });
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new RequestTimeoutError(resultSubject, timeoutMs));
      }, timeoutMs);
      void (async () => {
        for await (const msg of sub) {
          clearTimeout(timer);
          const env = this.decode(msg, resultSchema, false);
          if (env) resolve(env);
          else reject(new Error(`invalid result on ${resultSubject}`));
        }
      })();
      this.publish(subject, 'action.request', data, extra);
    });
  }

  /**
   * A core NATS request/reply: publishes an envelope of `type` with a reply inbox and resolves with
   * the first answer, validated against `replySchema`. Nothing is stored: for read-only calls
   * (probes, queries). Throws {@link RequestTimeoutError} after `timeoutMs` and
   * {@link NoRespondersError} at once when nobody subscribes.
   */
  async request<S extends z.ZodType>(
    subject: string,
    type: string,
    data: unknown,
    replySchema: S,
    timeoutMs: number,
    extra: { target?: string } = {},
  ): Promise<Envelope<z.infer<S>>> {
    const env = makeEnvelope(type, this.component, data, { subject, ...extra });
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, JSON.stringify(env), requestOptions(timeoutMs));
    } catch (e) {
      throw requestFailure(e, subject, timeoutMs);
    }
    const reply = this.decode(msg, replySchema, false);
    if (!reply) throw new Error(`invalid reply on ${subject} (dead-lettered)`);
    return reply;
  }

  /**
   * A request answered by every subscriber (scatter/gather): collects the valid replies until none
   * came for `stallMs` after the first, or `maxWaitMs` passed. Resolves with none when nobody answers.
   */
  async gather<S extends z.ZodType>(subject: string, type: string, data: unknown, replySchema: S, opts: { maxWaitMs: number; stallMs: number }): Promise<Envelope<z.infer<S>>[]> {
    const env = makeEnvelope(type, this.component, data, { subject });
    const out: Envelope<z.infer<S>>[] = [];
    try {
      const h = injectTrace();
      const replies = await this.nc.requestMany(subject, JSON.stringify(env), { strategy: 'stall', stall: opts.stallMs, maxWait: opts.maxWaitMs, ...(h ? { headers: h } : {}) });
      for await (const msg of replies) {
        const r = this.decode(msg, replySchema, false);
        if (r) out.push(r);
      }
    } catch (e) {
      const err = requestFailure(e, subject, opts.maxWaitMs);
      if (!(err instanceof NoRespondersError) && !(err instanceof RequestTimeoutError)) throw err;
    }
    return out;
  }

  /**
   * A request whose answer is not an envelope (a target's own reply, a history result): publishes an
   * envelope of `type` with a reply inbox and resolves with the answer's text. Errors as {@link request}.
   */
  async requestText(subject: string, type: string, data: unknown, timeoutMs: number, extra: { target?: string } = {}): Promise<string> {
    const env = makeEnvelope(type, this.component, data, { subject, ...extra });
    try {
      return (await this.nc.request(subject, JSON.stringify(env), requestOptions(timeoutMs))).string();
    } catch (e) {
      throw requestFailure(e, subject, timeoutMs);
    }
  }

  /**
   * One request/reply round trip through nats-server on a fresh `ping.<id>` subject this client
   * answers itself: whether the echo came back, and its round-trip time in ms.
   */
  async roundTrip(timeoutMs: number): Promise<{ ok: boolean; rttMs: number | null; error?: string }> {
    const subject = subjects.ping(newId());
    const started = performance.now();
    const sub = this.nc.subscribe(subject, { max: 1, callback: (_e, m) => void m.respond(m.data) });
    try {
      const reply = await this.nc.request(subject, 'ping', { timeout: timeoutMs });
      return { ok: reply.string() === 'ping', rttMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (e) {
      return { ok: false, rttMs: null, error: (e as Error).message };
    } finally {
      sub.unsubscribe();
    }
  }

  /** Opens a JetStream KV bucket, creating it with `opts` when missing. */
  async openKv(bucket: string, opts: { history?: number; ttlMs?: number } = {}): Promise<KV> {
    return new Kvm(this.nc).create(bucket, { history: opts.history ?? 1, replicas: this.replicas, ...(opts.ttlMs !== undefined ? { ttl: opts.ttlMs } : {}) });
  }

  /**
   * Opens (creating when missing) a KV bucket of typed records changed by compare-and-set: returns
   * a factory of {@link KvRecords}, one per key prefix and record schema.
   */
  async openRecords(bucket: string, opts: { ttlMs?: number } = {}): Promise<<T>(prefix: string, schema: z.ZodType<T>) => KvRecords<T>> {
    const kv = await this.openKv(bucket, { history: 1, ...opts });
    return <T>(prefix: string, schema: z.ZodType<T>) => new KvRecords<T>(kv, bucket, prefix, schema, this.log.child({ bucket }));
  }

  /** True once the connection is closed for good. */
  get isClosed(): boolean {
    return this.nc.isClosed();
  }

  /** Answers a request (`msg.reply`) with a JSON body that is not an envelope; false when the message wants no answer. */
  respondJson(msg: Msg, body: unknown): boolean {
    if (!msg.reply) return false;
    return respondTraced(msg, JSON.stringify(body));
  }

  /** Answers a request (`msg.reply`) with an envelope of `type`; false when the message wants no answer. */
  respond<T>(msg: Msg, type: string, data: T): boolean {
    if (!msg.reply) return false;
    return respondTraced(msg, JSON.stringify(makeEnvelope(type, this.component, data, { subject: msg.reply })));
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.#outbox?.close();
    for (const s of this.#subs) s.unsubscribe();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** nats.js request errors as the bus's own: no responders, timeout, or the error as it came. */
function requestFailure(e: unknown, subject: string, timeoutMs: number): Error {
  if (e instanceof NatsNoResponders || (e instanceof RequestError && e.isNoResponders())) return new NoRespondersError(subject);
  if (e instanceof TimeoutError || (e instanceof RequestError && e.cause instanceof TimeoutError)) return new RequestTimeoutError(subject, timeoutMs);
  return e as Error;
}
