import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { BusClient } from './bus-client.js';
import { nanos } from './durable-stream.js';
import { describeZodError, EnvelopeSchema, type Envelope } from './envelope.js';
import { DurableBusError } from './errors.js';
import type { DeadletterData } from './payloads.js';
import { subjects } from './subjects.js';
import { withMessageContext } from './trace-context.js';

export interface DeliveryInfo {
  subject: string;
  /** 1 on the first delivery, 2 on the first redelivery… */
  deliveryCount: number;
  streamSequence: number;
}

export interface DurableConsumerOptions<S extends z.ZodType> {
  stream: string;
  /** The durable name: the server remembers what this consumer has acknowledged, across restarts. */
  durable: string;
  filterSubjects?: string[];
  /** Schema of the envelope's `data`; a message that fails it is dead-lettered at once, never redelivered. */
  schema: S;
  /** Deliveries before a message is given up and dead-lettered (default 5). */
  maxDeliver?: number;
  /** A delivery not acknowledged within this time is redelivered (default 30 s). */
  ackWaitMs?: number;
  /** Delay before redelivering after the handler threw, per attempt (default 100 ms, 500 ms, 2 s…; the last repeats). */
  retryDelaysMs?: number[];
  /** Messages handled at once (default 8). */
  concurrency?: number;
  /**
   * How long one pull request waits on the server (default 5 s; nats.js' own default is 30 s). A
   * pull lost with a cluster node (the consumer's leader moved) is noticed after about this long, by
   * the missed idle heartbeats, and pulled again.
   */
  pullExpiresMs?: number;
  /** Acknowledged when it resolves; retried (bounded) when it throws. */
  handler: (env: Envelope<z.infer<S>>, info: DeliveryInfo) => Promise<void>;
}

export interface DurableConsumerStats {
  acked: number;
  retried: number;
  deadlettered: number;
}

const MAX_RAW = 4096;

/**
 * A durable JetStream consumer with explicit acks and bounded redelivery. Each message is acked
 * when the handler resolves and redelivered (with a delay) when it throws; after `maxDeliver`
 * deliveries it is published to `deadletter.<origin>` with the reason and terminated. A delivery
 * that is never acknowledged (the handler hung or its process died) is redelivered after
 * `ackWaitMs`; when that exhausts the deliveries, the server's MAX_DELIVERIES advisory is turned
 * into a dead letter too (by whichever instance of the durable hears it).
 */
export class DurableConsumer<S extends z.ZodType> {
  readonly stats: DurableConsumerStats = { acked: 0, retried: 0, deadlettered: 0 };
  #messages: ConsumerMessages | null = null;
  #advisory: Subscription | null = null;
  readonly #inflight = new Set<Promise<void>>();
  /** Acknowledgements waiting for the end of this turn of the event loop, to go out in one socket write. */
  readonly #acks: JsMsg[] = [];
  readonly #opts: Required<Omit<DurableConsumerOptions<S>, 'filterSubjects'>> & Pick<DurableConsumerOptions<S>, 'filterSubjects'>;

  private constructor(
    private readonly bus: BusClient,
    opts: DurableConsumerOptions<S>,
    private readonly log: Logger,
  ) {
    this.#opts = { maxDeliver: 5, ackWaitMs: 30_000, retryDelaysMs: [100, 500, 2000], concurrency: 8, pullExpiresMs: 5000, ...opts };
  }

  /** Creates (or updates) the durable consumer on the server and starts consuming. */
  static async start<S extends z.ZodType>(bus: BusClient, opts: DurableConsumerOptions<S>, log: Logger): Promise<DurableConsumer<S>> {
    const c = new DurableConsumer(bus, opts, log.child({ stream: opts.stream, durable: opts.durable }));
    await c.#start();
    return c;
  }

  async #start(): Promise<void> {
    const o = this.#opts;
    try {
      const jsm = await jetstreamManager(this.bus.nc);
      await jsm.consumers.add(o.stream, {
        durable_name: o.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_deliver: o.maxDeliver,
        ack_wait: nanos(o.ackWaitMs),
        // one filter as filter_subject, which nats-server 2.9 understands; several need 2.10
        ...(o.filterSubjects?.length === 1 ? { filter_subject: o.filterSubjects[0] } : o.filterSubjects?.length ? { filter_subjects: o.filterSubjects } : {}),
      });
      this.#advisory = this.bus.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${o.stream}.${o.durable}`, {
        queue: o.durable,
        callback: (_err, msg) => void this.#onMaxDeliveries(msg.string()),
      });
      const consumer = await jetstream(this.bus.nc).consumers.get(o.stream, o.durable);
      this.#messages = await consumer.consume({ max_messages: o.concurrency * 2, expires: o.pullExpiresMs });
    } catch (e) {
      throw new DurableBusError('BUS_CONSUMER', `cannot start durable consumer ${o.durable} on ${o.stream}: ${(e as Error).message}`, e, true);
    }
    void this.#loop(this.#messages);
  }

  async #loop(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      while (this.#inflight.size >= this.#opts.concurrency) await Promise.race(this.#inflight);
      const p: Promise<void> = this.#handle(m).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
  }

  async #handle(m: JsMsg): Promise<void> {
    const o = this.#opts;
    const raw = m.string();
    const info: DeliveryInfo = { subject: m.subject, deliveryCount: m.info.deliveryCount, streamSequence: m.info.streamSequence };
    let env: Envelope<z.infer<S>>;
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) return this.#giveUp(m, raw, `invalid envelope: ${describeZodError(parsed.error)}`);
      const data = o.schema.safeParse(parsed.data.data);
      if (!data.success) return this.#giveUp(m, raw, `invalid data for ${m.subject}: ${describeZodError(data.error)}`);
      env = { ...parsed.data, data: data.data };
    } catch (e) {
      return this.#giveUp(m, raw, `not JSON: ${(e as Error).message}`);
    }
    try {
      await withMessageContext(m.headers, () => o.handler(env, info));
      this.#ack(m);
      this.stats.acked++;
    } catch (e) {
      const why = (e as Error).message;
      if (info.deliveryCount >= o.maxDeliver) return this.#giveUp(m, raw, `exhausted ${o.maxDeliver} deliveries; last error: ${why}`);
      const delay = o.retryDelaysMs[Math.min(info.deliveryCount - 1, o.retryDelaysMs.length - 1)] ?? 1000;
      this.stats.retried++;
      this.log.warn({ subject: m.subject, delivery: info.deliveryCount, delayMs: delay, err: why }, 'handler failed; will be redelivered');
      m.nak(delay);
    }
  }

  /**
   * Acknowledges at the end of this turn: the acks of every message handled in the turn go out in
   * one socket write instead of one write each (the writes of a per-message ack cost a busy stack
   * more CPU than the handling). A process that dies before the turn ends has the message redelivered,
   * as it would if it died just before an immediate ack.
   */
  #ack(m: JsMsg): void {
    this.#acks.push(m);
    if (this.#acks.length === 1) setImmediate(() => this.#flushAcks());
  }

  #flushAcks(): void {
    for (const m of this.#acks.splice(0)) {
      try {
        m.ack();
      } catch (e) {
        this.log.warn({ subject: m.subject, err: (e as Error).message }, 'could not acknowledge; the message will be redelivered');
      }
    }
  }

  #giveUp(m: JsMsg, raw: string, reason: string): void {
    this.#deadletter(m.subject, raw, reason, m.info.deliveryCount, m.info.streamSequence);
    // No reason on +TERM: nats-server before 2.10.4 (Debian 12 ships 2.9) ignores a TERM that carries one.
    m.term();
  }

  /** The server gave up redelivering a message nobody acknowledged: fetch it and dead-letter it. */
  async #onMaxDeliveries(advisory: string): Promise<void> {
    try {
      const a = JSON.parse(advisory) as { stream_seq: number; deliveries: number };
      const jsm = await jetstreamManager(this.bus.nc);
      const stored = await jsm.streams.getMessage(this.#opts.stream, { seq: a.stream_seq });
      if (!stored) return;
      const reason = `exhausted ${a.deliveries} deliveries: not acknowledged within ${this.#opts.ackWaitMs} ms (handler hung or its process died)`;
      this.#deadletter(stored.subject, stored.string(), reason, a.deliveries, a.stream_seq);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'could not dead-letter a message that exhausted its deliveries');
    }
  }

  #deadletter(subject: string, raw: string, reason: string, deliveries: number, streamSeq: number): void {
    this.stats.deadlettered++;
    const origin = subject.split('.')[0] ?? 'unknown';
    this.log.warn({ subject, reason, deliveries, streamSeq }, 'durable message dead-lettered');
    this.bus.publish<DeadletterData & { stream: string; streamSeq: number; deliveries: number }>(
      subjects.deadletter(/^[A-Za-z0-9_-]+$/.test(origin) ? origin : 'unknown'),
      'deadletter',
      { subject, reason, droppedBy: this.bus.component, raw: raw.length > MAX_RAW ? raw.slice(0, MAX_RAW) : raw, stream: this.#opts.stream, streamSeq, deliveries },
    );
  }

  /**
   * Stops taking messages and waits for the ones being handled. A message the server hands to this
   * instance's last outstanding pull after it stopped is redelivered to the next instance after `ackWaitMs`.
   */
  async stop(): Promise<void> {
    this.#advisory?.unsubscribe();
    await this.#messages?.close();
    await Promise.all(this.#inflight);
    this.#flushAcks();
  }
}
