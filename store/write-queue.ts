import type { Logger } from 'pino';
import { StoreError } from './errors.js';

/** Latency figures for one kind of write, in ms. */
export interface LatencyFigures {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

export interface WriteQueueStats {
  /** Writes waiting (or being retried). */
  queued: number;
  written: number;
  /** Writes refused because the queue was full while the database was away. */
  dropped: number;
  /** Writes the database refused for good (bad data); logged and skipped. */
  failed: number;
  degraded: boolean;
  /** Time each write took against the database, per kind (the last 10,000 of each). */
  writeMs: Record<string, LatencyFigures>;
}

export interface DegradedInfo {
  error: StoreError;
  queued: number;
  since: Date;
}

export interface RecoveredInfo {
  downMs: number;
  /** Writes that waited out the outage and are now being written. */
  backlog: number;
  /** Writes dropped so far because the queue was full. */
  dropped: number;
}

export interface WriteQueueOptions {
  log: Logger;
  /** Most writes held while the database is away (default 10,000); beyond it new writes are dropped and counted. */
  capacity?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  onDegraded?: (info: DegradedInfo) => void;
  onRecovered?: (info: RecoveredInfo) => void;
}

interface Op {
  key: string;
  kind: string;
  run: () => Promise<void>;
}

const SAMPLES = 10_000;

function figures(samples: number[]): LatencyFigures {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { count: s.length, p50: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? 0 };
}

/**
 * Writes to the store in order, one at a time, without ever making the caller wait. While the
 * database is away (a transient StoreError) the head write is retried with backoff and new writes
 * wait in memory, up to `capacity`; beyond that they are dropped and counted. Writes are keyed: a
 * write whose key is already waiting replaces it in place (writes are idempotent upserts of the
 * latest state), so an outage costs one slot per record, not one per change.
 */
export class WriteQueue {
  readonly #ops: Op[] = [];
  readonly #waiting = new Map<string, Op>();
  readonly #samples = new Map<string, number[]>();
  readonly #idle = new Set<() => void>();
  readonly #opts: Required<Omit<WriteQueueOptions, 'onDegraded' | 'onRecovered'>> & Pick<WriteQueueOptions, 'onDegraded' | 'onRecovered'>;
  #pumping = false;
  #stopped = false;
  #degradedSince: number | null = null;
  #wake: (() => void) | null = null;
  written = 0;
  dropped = 0;
  failed = 0;

  constructor(opts: WriteQueueOptions) {
    this.#opts = { capacity: 10_000, retryMinMs: 100, retryMaxMs: 2000, ...opts };
  }

  get degraded(): boolean {
    return this.#degradedSince !== null;
  }

  /** Queues a write; returns false when it was dropped because the queue is full. */
  enqueue(key: string, kind: string, run: () => Promise<void>): boolean {
    if (this.#stopped) return false;
    const waiting = this.#waiting.get(key);
    if (waiting) {
      waiting.run = run;
      return true;
    }
    if (this.#ops.length >= this.#opts.capacity) {
      if (this.dropped++ === 0 || this.dropped % 1000 === 0) this.#opts.log.warn({ dropped: this.dropped, capacity: this.#opts.capacity }, 'store write queue full: dropping records');
      return false;
    }
    const op: Op = { key, kind, run };
    this.#ops.push(op);
    this.#waiting.set(key, op);
    if (!this.#pumping) void this.#pump();
    return true;
  }

  stats(): WriteQueueStats {
    const writeMs: Record<string, LatencyFigures> = {};
    for (const [kind, s] of this.#samples) writeMs[kind] = figures(s);
    return { queued: this.#ops.length, written: this.written, dropped: this.dropped, failed: this.failed, degraded: this.degraded, writeMs };
  }

  /** Resolves when every queued write has been written (or dropped as failed). */
  idle(): Promise<void> {
    if (!this.#ops.length && !this.#pumping) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops retrying; writes still queued are abandoned (their number is returned). */
  stop(): number {
    this.#stopped = true;
    this.#wake?.();
    return this.#ops.length;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    let backoff = this.#opts.retryMinMs;
    while (this.#ops.length && !this.#stopped) {
      const op = this.#ops[0]!;
      this.#waiting.delete(op.key);
      const started = performance.now();
      try {
        await op.run();
        this.#sample(op.kind, performance.now() - started);
        this.#ops.shift();
        this.written++;
        backoff = this.#opts.retryMinMs;
        if (this.#degradedSince !== null) this.#recovered();
      } catch (e) {
        if (e instanceof StoreError && e.transient) {
          if (!this.#waiting.has(op.key)) this.#waiting.set(op.key, op);
          this.#degrade(e);
          await this.#sleep(backoff);
          backoff = Math.min(this.#opts.retryMaxMs, backoff * 2);
          continue;
        }
        this.#ops.shift();
        this.failed++;
        this.#opts.log.error({ err: e, key: op.key, kind: op.kind }, 'store refused a record; skipped');
      }
    }
    this.#pumping = false;
    if (!this.#ops.length || this.#stopped) for (const f of this.#idle) f();
    this.#idle.clear();
  }

  #degrade(error: StoreError): void {
    if (this.#degradedSince !== null) return;
    this.#degradedSince = Date.now();
    this.#opts.log.warn({ err: error.message, queued: this.#ops.length }, 'store degraded: records are kept in memory until it returns');
    this.#opts.onDegraded?.({ error, queued: this.#ops.length, since: new Date(this.#degradedSince) });
  }

  #recovered(): void {
    const downMs = Date.now() - this.#degradedSince!;
    this.#degradedSince = null;
    const info: RecoveredInfo = { downMs, backlog: this.#ops.length, dropped: this.dropped };
    this.#opts.log.info(info, 'store recovered');
    this.#opts.onRecovered?.(info);
  }

  #sample(kind: string, ms: number): void {
    let s = this.#samples.get(kind);
    if (!s) this.#samples.set(kind, (s = []));
    s.push(ms);
    if (s.length > SAMPLES) s.splice(0, s.length - SAMPLES);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
    });
  }
}
