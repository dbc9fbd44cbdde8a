import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { BusClient } from './bus-client.js';
import { DurableBusError } from './errors.js';

/** The KV bucket holding leases (a stack's identity today; per-target leases later). */
export const LEASE_BUCKET = 'HOMEOSTAT_LEASES';

const LeaseRecord = z.object({ holder: z.string().min(1), expiresAt: z.number(), acquiredAt: z.number() });
type LeaseRecord = z.infer<typeof LeaseRecord>;

/**
 * A lease held: `token` is the KV revision of the holder's last write, the fencing token — it only
 * grows, and a holder that lost the lease finds its token stale at its next renewal.
 */
export interface Lease {
  key: string;
  holder: string;
  token: number;
  expiresAt: number;
}

export type LeaseAnswer = { ok: true; lease: Lease } | { ok: false; holder: string; expiresAt: number };

const isCasConflict = (e: unknown) => e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * Leases in the KV bucket {@link LEASE_BUCKET}: taken with create-if-absent (or compare-and-set on
 * the revision of an expired record), renewed with compare-and-set on the holder's revision, so two
 * holders never both succeed. A record that is not JSON or breaks its schema is logged and treated
 * as expired — it never stops a holder from taking the lease.
 */
export class Leases {
  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Opens (creating when missing) the bucket; `log` (default the bus client's) gets the unreadable records. */
  static async open(bus: BusClient, log: Logger = bus.log): Promise<Leases> {
    try {
      return new Leases(await bus.openKv(LEASE_BUCKET, { history: 1 }), log.child({ bucket: LEASE_BUCKET }));
    } catch (e) {
      throw new DurableBusError('BUS_LEASES', `cannot open the lease bucket ${LEASE_BUCKET}: ${(e as Error).message}`, e, true);
    }
  }

  /** Takes `key` for `holder` for `ttlMs` unless another holder's lease is still running. */
  async acquire(key: string, holder: string, ttlMs: number, now = Date.now()): Promise<LeaseAnswer> {
    for (;;) {
      const { record, revision } = await this.#read(key);
      if (record && record.holder !== holder && record.expiresAt > now) return { ok: false, holder: record.holder, expiresAt: record.expiresAt };
      const next: LeaseRecord = { holder, expiresAt: now + ttlMs, acquiredAt: now };
      try {
        const token = await this.kv.put(key, JSON.stringify(next), { previousSeq: revision });
        return { ok: true, lease: { key, holder, token, expiresAt: next.expiresAt } };
      } catch (e) {
        if (!isCasConflict(e)) throw new DurableBusError('BUS_LEASE_WRITE', `cannot write lease ${key}: ${(e as Error).message}`, e, true);
        // someone wrote in between: read again and decide again
      }
    }
  }

  /** Extends a held lease; null when it was lost (another holder wrote since `lease.token`). */
  async renew(lease: Lease, ttlMs: number, now = Date.now()): Promise<Lease | null> {
    const { record } = await this.#read(lease.key);
    const next: LeaseRecord = { holder: lease.holder, expiresAt: now + ttlMs, acquiredAt: record?.acquiredAt ?? now };
    try {
      const token = await this.kv.put(lease.key, JSON.stringify(next), { previousSeq: lease.token });
      return { ...lease, token, expiresAt: next.expiresAt };
    } catch (e) {
      if (isCasConflict(e)) return null;
      throw new DurableBusError('BUS_LEASE_WRITE', `cannot renew lease ${lease.key}: ${(e as Error).message}`, e, true);
    }
  }

  /** Gives a held lease up (only if still held at its token). */
  async release(lease: Lease): Promise<void> {
    await this.kv.delete(lease.key, { previousSeq: lease.token }).catch(() => undefined);
  }

  async #read(key: string): Promise<{ record: LeaseRecord | null; revision: number }> {
    const e = await this.kv.get(key);
    if (!e) return { record: null, revision: 0 };
    if (e.operation !== 'PUT') return { record: null, revision: e.revision };
    let parsed: LeaseRecord | null = null;
    try {
      const r = LeaseRecord.safeParse(JSON.parse(e.string()));
      if (r.success) parsed = r.data;
    } catch {
      /* logged below */
    }
    if (!parsed) this.log.warn({ key, revision: e.revision, raw: e.string().slice(0, 200) }, 'lease record unreadable; treated as expired');
    return { record: parsed, revision: e.revision };
  }
}
