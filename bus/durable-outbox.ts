import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface DurableOutboxOptions {
  /** How long to wait for the stream's acknowledgement of one message (default 2 s). */
  ackTimeoutMs?: number;
  /** A message not stored within this time is given up, with an error logged (default 10 min). */
  maxAgeMs?: number;
  /** Messages published before waiting for their acknowledgements (default 1024). */
  window?: number;
}

export interface DurableOutboxStats {
  stored: number;
  retried: number;
  dropped: number;
}

interface Pending {
  subject: string;
  payload: string;
  id: string;
  at: number;
  headers?: MsgHdrs;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Publishes into JetStream streams in order and keeps each message until a stream acknowledged it,
 * retrying (with its envelope id as `Nats-Msg-Id`, so a retry is never stored twice) while the
 * server is down or restarting. A plain publish made while the client is disconnected is dropped by
 * the NATS client on reconnect; this is what makes a monitor's events survive a server restart.
 */
export class DurableOutbox {
  readonly stats: DurableOutboxStats = { stored: 0, retried: 0, dropped: 0 };
  readonly #queue: Pending[] = [];
  readonly #js: JetStreamClient;
  readonly #idle = new Set<() => void>();
  #draining = false;
  #closed = false;

  constructor(
    nc: NatsConnection,
    private readonly log: Logger,
    private readonly opts: DurableOutboxOptions = {},
  ) {
    this.#js = jetstream(nc);
  }

  get pending(): number {
    return this.#queue.length;
  }

  /** Queues one message; `headers` (the trace context) are stored with it in the stream. */
  push(subject: string, payload: string, id: string, headers?: MsgHdrs): void {
    this.#queue.push({ subject, payload, id, at: Date.now(), ...(headers ? { headers } : {}) });
    if (!this.#draining) void this.#drain();
  }

  /**
   * Publishes the queue head in windows of up to `window` messages in flight (the stream's acks
   * come back in order on one connection), so a burst is not paced by one round trip per event.
   * A message the stream did not acknowledge stays at the head and is retried with backoff.
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    let backoff = 100;
    const window = this.opts.window ?? 1024;
    while (this.#queue.length && !this.#closed) {
      const batch = this.#queue.slice(0, window);
      const results = await Promise.allSettled(
        batch.map((m) => this.#js.publish(m.subject, m.payload, { msgID: m.id, timeout: this.opts.ackTimeoutMs ?? 2000, ...(m.headers ? { headers: m.headers } : {}) })),
      );
      const keep: Pending[] = [];
      let lastError: unknown = null;
      results.forEach((r, i) => {
        const m = batch[i]!;
        if (r.status === 'fulfilled') {
          this.stats.stored++;
          return;
        }
        lastError = r.reason;
        if (Date.now() - m.at > (this.opts.maxAgeMs ?? 600_000)) {
          this.stats.dropped++;
          this.log.error({ subject: m.subject, id: m.id, err: (r.reason as Error).message }, 'durable publish given up: no stream stored it in time');
        } else keep.push(m);
      });
      this.#queue.splice(0, batch.length, ...keep);
      if (lastError === null) {
        backoff = 100;
        continue;
      }
      if (keep.length) {
        this.stats.retried += keep.length;
        this.log.warn({ waiting: this.#queue.length, err: (lastError as Error).message }, 'durable publish not acknowledged; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
    this.#draining = false;
    for (const f of [...this.#idle]) f();
  }

  /** Resolves once every queued message is stored, or after `timeoutMs`; then stops retrying. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.#draining) {
      await new Promise<void>((resolve) => {
        const f = () => (clearTimeout(t), this.#idle.delete(f), resolve());
        const t = setTimeout(f, timeoutMs);
        this.#idle.add(f);
      });
    }
    this.#closed = true;
    if (this.#queue.length) this.log.warn({ pending: this.#queue.length }, 'closing with durable messages not stored');
  }
}
