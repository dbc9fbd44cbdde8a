import type { Logger } from 'pino';
import { ROLES } from '../bus/index.js';
import type { BlacklistEntry, BlacklistStore } from './blacklist-store.js';
import { BlacklistCutError, BlacklistRefusedError } from './errors.js';

/** What the blacklist needs of the managed nats-server (`ManagedNatsServer` provides it). */
export interface BusServerControl {
  readonly users: readonly { user: string }[];
  /** nats-server's HTTP monitoring endpoint (for `/connz?auth=1&user=…`). */
  readonly monitorUrl: string;
  reload(blocked: ReadonlySet<string>): Promise<void>;
}

/** Homeostat's own roles: never blacklisted (rule `protected-role`). */
export const PROTECTED_ROLES: readonly string[] = ROLES;

export const DEFAULT_BLACKLIST_TTL_MS = 5 * 60_000;

export interface BlacklistOptions {
  server: BusServerControl;
  store: BlacklistStore;
  log: Logger;
  /** Users the server was started without (so no reload is needed for them). */
  applied?: ReadonlySet<string>;
  /** How long to wait for the server to close the actor's connections (default 5 s). */
  cutTimeoutMs?: number;
  /** Called after an entry is lifted (expired or by hand). */
  onLifted?: (entry: BlacklistEntry, why: 'expired' | 'lifted') => void;
}

/** The outcome of one blacklisting. */
export interface BlacklistOutcome {
  entry: BlacklistEntry;
  /** Client ids of the actor's connections the server closed. */
  closed: number[];
  /** Reload → no connection of the actor left, in ms. */
  cutMs: number;
  alreadyBlacklisted: boolean;
}

interface Conn {
  cid: number;
  authorized_user?: string;
}

/**
 * Actors cut off from the bus: each entry leaves the actor out of the generated nats-server
 * config until its TTL expires, then the actor is restored and the server reloaded again.
 * Entries are written to the store on every change and re-applied at start, so they survive
 * a restart. Operations run one at a time.
 */
export class Blacklist {
  readonly #entries = new Map<string, BlacklistEntry>();
  readonly #opts: BlacklistOptions;
  #timer: NodeJS.Timeout | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;

  private constructor(opts: BlacklistOptions) {
    this.#opts = opts;
  }

  /** Loads the store, drops expired entries, and makes the server match the rest. */
  static async open(opts: BlacklistOptions): Promise<Blacklist> {
    const bl = new Blacklist(opts);
    const now = Date.now();
    const loaded = opts.store.load();
    for (const e of loaded) if (Date.parse(e.expiresAt) > now) bl.#entries.set(e.actor, e);
    if (bl.#entries.size !== loaded.length) opts.store.save([...bl.#entries.values()]);
    const applied = opts.applied ?? new Set<string>();
    const wanted = bl.blocked();
    if (wanted.size !== applied.size || [...wanted].some((a) => !applied.has(a))) await opts.server.reload(wanted);
    if (bl.#entries.size) opts.log.info({ actors: [...wanted] }, 'blacklist restored');
    bl.#schedule();
    return bl;
  }

  /** The actors currently cut off. */
  blocked(): Set<string> {
    return new Set(this.#entries.keys());
  }

  entries(): BlacklistEntry[] {
    return [...this.#entries.values()];
  }

  /** Throws `BlacklistRefusedError` when a rule forbids blacklisting `actor`. */
  check(actor: string): void {
    if (PROTECTED_ROLES.includes(actor)) {
      throw new BlacklistRefusedError(actor, 'protected-role', `Homeostat's own roles (${PROTECTED_ROLES.join(', ')}) are never blacklisted; fix the component instead`);
    }
    if (!this.#opts.server.users.some((u) => u.user === actor)) {
      throw new BlacklistRefusedError(actor, 'known-actor', 'it is not a user of the generated nats-server config, so there is no login to remove');
    }
  }

  /**
   * Cuts `actor` off: leaves it out of the config, reloads the server, and waits until the
   * server reports no connection of the actor. Blacklisting again extends the TTL.
   */
  async add(actor: string, opts: { ttlMs?: number; reason?: string; runId?: string } = {}): Promise<BlacklistOutcome> {
    this.check(actor);
    return this.#serial(async () => {
      const ttlMs = opts.ttlMs ?? DEFAULT_BLACKLIST_TTL_MS;
      const now = Date.now();
      const already = this.#entries.has(actor);
      const entry: BlacklistEntry = {
        actor,
        reason: opts.reason ?? '',
        since: already ? this.#entries.get(actor)!.since : new Date(now).toISOString(),
        expiresAt: new Date(now + ttlMs).toISOString(),
        ttlMs,
        ...(opts.runId ? { runId: opts.runId } : {}),
      };
      const before = await this.#connections(actor);
      this.#entries.set(actor, entry);
      this.#opts.store.save(this.entries());
      const t0 = performance.now();
      await this.#opts.server.reload(this.blocked());
      await this.#waitCut(actor);
      const cutMs = Math.round((performance.now() - t0) * 10) / 10;
      this.#schedule();
      this.#opts.log.warn({ actor, expiresAt: entry.expiresAt, closed: before.map((c) => c.cid), cutMs }, 'actor blacklisted');
      return { entry, closed: before.map((c) => c.cid), cutMs, alreadyBlacklisted: already };
    });
  }

  /** Restores `actor` before its TTL expires; false when it was not blacklisted. */
  lift(actor: string): Promise<boolean> {
    return this.#serial(() => this.#lift(actor, 'lifted'));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #lift(actor: string, why: 'expired' | 'lifted'): Promise<boolean> {
    const entry = this.#entries.get(actor);
    if (!entry) return false;
    this.#entries.delete(actor);
    this.#opts.store.save(this.entries());
    await this.#opts.server.reload(this.blocked());
    this.#opts.log.warn({ actor, why, since: entry.since }, 'actor restored');
    this.#opts.onLifted?.(entry, why);
    this.#schedule();
    return true;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#stopped || !this.#entries.size) return;
    const next = Math.min(...[...this.#entries.values()].map((e) => Date.parse(e.expiresAt)));
    this.#timer = setTimeout(() => void this.#expire(), Math.min(2 ** 31 - 1, Math.max(0, next - Date.now())));
    this.#timer.unref();
  }

  async #expire(): Promise<void> {
    await this.#serial(async () => {
      const now = Date.now();
      for (const e of this.entries()) {
        if (Date.parse(e.expiresAt) <= now) await this.#lift(e.actor, 'expired');
      }
      this.#schedule();
    }).catch((e: unknown) => {
      this.#opts.log.error({ err: e }, 'could not restore expired blacklist entries; retrying in 1 s');
      if (!this.#stopped) setTimeout(() => void this.#expire(), 1000).unref();
    });
  }

  async #connections(actor: string): Promise<Conn[]> {
    const res = await fetch(`${this.#opts.server.monitorUrl}/connz?auth=1&limit=100000&user=${encodeURIComponent(actor)}`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { connections?: Conn[] };
    return (body.connections ?? []).filter((c) => c.authorized_user === actor);
  }

  async #waitCut(actor: string): Promise<void> {
    const timeout = this.#opts.cutTimeoutMs ?? 5000;
    const deadline = performance.now() + timeout;
    for (;;) {
      const open = await this.#connections(actor);
      if (!open.length) return;
      if (performance.now() > deadline) throw new BlacklistCutError(actor, open.length, timeout);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
