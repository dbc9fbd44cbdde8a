import type { Logger } from 'pino';
import type { ActionResultData, BusClient, KV } from '../bus/index.js';
import { HandlerError } from './errors.js';

/** The KV bucket holding what handlers executed, per idempotency key. */
export const IDEMPOTENCY_BUCKET = 'HOMEOSTAT_IDEMPOTENCY';

/** What a handler recorded for one key: the result it answered, without the per-request action id. */
export type RecordedResult = Omit<ActionResultData, 'actionId'>;

/** A KV key may hold `[-/_=.a-zA-Z0-9]`; anything else in an idempotency key becomes `_`. */
export const kvKey = (key: string) => key.replace(/[^-/_=.a-zA-Z0-9]/g, '_');

/**
 * The handlers' idempotency record: for each idempotency key, the result of the one execution.
 * Durable (a JetStream KV bucket with a TTL, so it lives with the bus and survives handler and
 * server restarts); keys being executed right now are also tracked in memory, so a repeated
 * request during the execution waits for it instead of acting again.
 */
export class IdempotencyLedger {
  readonly #running = new Map<string, Promise<RecordedResult>>();

  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Opens (creating when missing) the bucket; records expire after `ttlMs` (default 24 h). */
  static async open(bus: BusClient, log: Logger, ttlMs = 24 * 3_600_000): Promise<IdempotencyLedger> {
    try {
      const kv = await bus.openKv(IDEMPOTENCY_BUCKET, { history: 1, ttlMs });
      return new IdempotencyLedger(kv, log.child({ component: 'idempotency' }));
    } catch (e) {
      throw new HandlerError('HANDLER_IDEMPOTENCY', `cannot open the idempotency bucket ${IDEMPOTENCY_BUCKET}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Runs `execute` once per key: a key already executed returns its recorded result (`replayed`),
   * a key being executed waits for that execution. The result is recorded before it is returned.
   */
  async once(key: string, execute: () => Promise<RecordedResult>): Promise<{ result: RecordedResult; replayed: boolean }> {
    const k = kvKey(key);
    const running = this.#running.get(k);
    if (running) return { result: await running, replayed: true };
    const recorded = await this.#get(k);
    if (recorded) {
      this.log.info({ key }, 'idempotency key already executed: answering the recorded result');
      return { result: recorded, replayed: true };
    }
    const p = (async () => {
      const r = await execute();
      await this.kv.put(k, JSON.stringify(r)).catch((e: unknown) => this.log.error({ key, err: (e as Error).message }, 'could not record an idempotent result'));
      return r;
    })();
    this.#running.set(k, p);
    try {
      return { result: await p, replayed: false };
    } finally {
      this.#running.delete(k);
    }
  }

  async #get(k: string): Promise<RecordedResult | null> {
    try {
      const e = await this.kv.get(k);
      if (!e || e.operation !== 'PUT') return null;
      return e.json<RecordedResult>();
    } catch (e) {
      this.log.warn({ key: k, err: (e as Error).message }, 'idempotency record unreadable; executing');
      return null;
    }
  }
}
