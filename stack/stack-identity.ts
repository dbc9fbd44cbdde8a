import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Leases, newId, type BusClient, type Lease } from '../bus/index.js';
import { StackError } from './errors.js';

/** Another stack with the same identity holds the bus. Permanent until it stops (or its lease runs out). */
export class StackIdentityTakenError extends StackError {
  override name = 'StackIdentityTakenError';
  constructor(
    readonly identity: string,
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super(
      'STACK_IDENTITY_TAKEN',
      `another homeostat stack with identity "${identity}" is running on this bus (held by ${holder}, lease renewed until ${new Date(expiresAt).toISOString()}): stop it, or give this stack another HOMEOSTAT_IDENTITY`,
    );
  }
}

export interface StackIdentity {
  readonly holder: string;
  /** The lease's current fencing token (its KV revision). */
  readonly token: number;
  /** True once the lease was lost (another stack took it after this one stopped renewing). */
  readonly lost: boolean;
  release(): Promise<void>;
}

/**
 * Claims the lease `stack.<identity>` in HOMEOSTAT_LEASES for this process and renews it every
 * `renewMs`; throws {@link StackIdentityTakenError} when another live stack holds it. A stopped
 * stack releases it; a killed one's lease runs out after `ttlMs`.
 */
export async function claimStackIdentity(bus: BusClient, identity: string, log: Logger, opts: { ttlMs?: number; renewMs?: number } = {}): Promise<StackIdentity> {
  const ttlMs = opts.ttlMs ?? 15_000;
  const renewMs = opts.renewMs ?? 5_000;
  const leases = await Leases.open(bus, log);
  const holder = `${hostname()}:${process.pid}:${newId().slice(0, 8)}`;
  const key = `stack.${identity}`;
  const answer = await leases.acquire(key, holder, ttlMs);
  if (!answer.ok) throw new StackIdentityTakenError(identity, answer.holder, answer.expiresAt);
  let lease: Lease = answer.lease;
  let lost = false;
  const timer = setInterval(() => {
    leases.renew(lease, ttlMs).then(
      (next) => {
        if (next) lease = next;
        else if (!lost) {
          lost = true;
          clearInterval(timer);
          log.error({ identity, holder }, 'stack identity lease lost: another stack took it; this stack should stop');
        }
      },
      (e: unknown) => log.warn({ identity, err: (e as Error).message }, 'stack identity lease not renewed; will try again'),
    );
  }, renewMs);
  timer.unref();
  log.info({ identity, holder, token: lease.token }, 'stack identity claimed');
  return {
    holder,
    get token() {
      return lease.token;
    },
    get lost() {
      return lost;
    },
    async release() {
      clearInterval(timer);
      if (!lost) await leases.release(lease);
    },
  };
}
