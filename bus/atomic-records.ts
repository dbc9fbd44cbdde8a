import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeZodError } from './envelope.js';
import { DurableBusError } from './errors.js';

/**
 * What a read-modify-write returns: `next` is the record to store (`undefined`: leave it as it is,
 * `null`: delete it), `result` what the caller gets back, `expiresAt` (epoch ms) when the stored
 * record no longer means anything (only the in-memory store uses it; a KV bucket has its own TTL).
 */
export interface RecordChange<T, R> {
  next?: T | null;
  result: R;
  expiresAt?: number;
}

/**
 * Typed records changed atomically, one key at a time: `update` reads the record, lets the caller
 * decide, and stores the decision only if nobody changed the record in between (retried when
 * someone did). Two adapters: {@link MemoryRecords} (one process) and {@link KvRecords} (a JetStream
 * KV bucket, compare-and-set on the key's revision: shared by every process and kept across restarts).
 */
export interface AtomicRecords<T> {
  update<R>(key: string, decide: (current: T | null) => RecordChange<T, R>): Promise<R>;
  get(key: string): Promise<T | null>;
}

/** A KV key token from any text: `[A-Za-z0-9_-]` kept, any other character as `=XX` (UTF-8 hex), empty as `=`. */
export function recordKeyPart(text: string): string {
  if (!text) return '=';
  let out = '';
  for (const ch of text) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A record key from parts: each escaped by {@link recordKeyPart}, joined by `.`. */
export const recordKey = (...parts: string[]) => parts.map(recordKeyPart).join('.');

/** Records held in this process only (tests, a stack without a bus to keep them); expired ones are dropped as they are met. */
export class MemoryRecords<T> implements AtomicRecords<T> {
  readonly #map = new Map<string, { value: T; expiresAt?: number }>();
  #lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  update<R>(key: string, decide: (current: T | null) => RecordChange<T, R>): Promise<R> {
    this.#sweep();
    const change = decide(this.#read(key));
    if (change.next === null) this.#map.delete(key);
    else if (change.next !== undefined) this.#map.set(key, { value: change.next, ...(change.expiresAt !== undefined ? { expiresAt: change.expiresAt } : {}) });
    return Promise.resolve(change.result);
  }

  get(key: string): Promise<T | null> {
    return Promise.resolve(this.#read(key));
  }

  /** Records held (expired ones not yet swept included). */
  get size(): number {
    return this.#map.size;
  }

  #read(key: string): T | null {
    const e = this.#map.get(key);
    if (!e) return null;
    if (e.expiresAt !== undefined && e.expiresAt <= this.now()) {
      this.#map.delete(key);
      return null;
    }
    return e.value;
  }

  #sweep(): void {
    const now = this.now();
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const [k, e] of this.#map) if (e.expiresAt !== undefined && e.expiresAt <= now) this.#map.delete(k);
  }
}

/** Conflicting writers: after this many compare-and-set refusals in a row, `update` gives up. */
const MAX_CAS_ATTEMPTS = 16;

function isCasConflict(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * Records in a JetStream KV bucket under `prefix.`: every change is a compare-and-set on the
 * key's revision (create-if-absent when there is none), so several processes share them and a
 * restarted one finds them. A record that is not JSON or breaks `schema` is logged and treated as
 * absent (the next change overwrites it); it never throws out of `update`.
 */
export class KvRecords<T> implements AtomicRecords<T> {
  /** Compare-and-set refusals met (another writer changed the record first); each was retried. */
  conflicts = 0;
  readonly #queue = new Map<string, Promise<void>>();

  constructor(
    private readonly kv: KV,
    /** The bucket's name (for messages). */
    readonly bucket: string,
    private readonly prefix: string,
    private readonly schema: z.ZodType<T>,
    private readonly log: Logger,
  ) {}

  async get(key: string): Promise<T | null> {
    return (await this.#read(key)).value;
  }

  /**
   * Changes of one key from this process go one at a time (they never conflict with each other);
   * a conflict with another process is retried after a short random pause.
   */
  update<R>(key: string, decide: (current: T | null) => RecordChange<T, R>): Promise<R> {
    const prev = this.#queue.get(key) ?? Promise.resolve();
    const run = () => this.#update(key, decide);
    const next = prev.then(run, run);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#queue.set(key, tail);
    void tail.then(() => {
      if (this.#queue.get(key) === tail) this.#queue.delete(key);
    });
    return next;
  }

  async #update<R>(key: string, decide: (current: T | null) => RecordChange<T, R>): Promise<R> {
    const k = `${this.prefix}.${key}`;
    for (let attempt = 1; ; attempt++) {
      const { value, revision } = await this.#read(key);
      const change = decide(value);
      if (change.next === undefined) return change.result;
      try {
        if (change.next === null) {
          if (revision) await this.kv.delete(k, { previousSeq: revision });
        } else {
          await this.kv.put(k, JSON.stringify(change.next), { previousSeq: revision });
        }
        return change.result;
      } catch (e) {
        if (!isCasConflict(e)) throw new DurableBusError('BUS_KV_WRITE', `cannot write ${k} in KV bucket ${this.bucket}: ${(e as Error).message}`, e, true);
        this.conflicts++;
        if (attempt >= MAX_CAS_ATTEMPTS) throw new DurableBusError('BUS_KV_CONFLICT', `${k}: ${attempt} compare-and-set attempts in a row lost to other writers; try again`, e, true);
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
  }

  /** The record and its revision (0 when the key never held anything); an unreadable record reads as absent, at its revision. */
  async #read(key: string): Promise<{ value: T | null; revision: number }> {
    const k = `${this.prefix}.${key}`;
    let e;
    try {
      e = await this.kv.get(k);
    } catch (err) {
      throw new DurableBusError('BUS_KV_READ', `cannot read ${k} in KV bucket ${this.bucket}: ${(err as Error).message}`, err, true);
    }
    if (!e) return { value: null, revision: 0 };
    if (e.operation !== 'PUT') return { value: null, revision: e.revision };
    let json: unknown;
    try {
      json = JSON.parse(e.string());
    } catch (err) {
      this.log.warn({ key: k, revision: e.revision, err: (err as Error).message }, 'KV record is not JSON; treated as absent');
      return { value: null, revision: e.revision };
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ key: k, revision: e.revision, reason: describeZodError(parsed.error) }, 'KV record breaks its schema; treated as absent');
      return { value: null, revision: e.revision };
    }
    return { value: parsed.data, revision: e.revision };
  }
}
