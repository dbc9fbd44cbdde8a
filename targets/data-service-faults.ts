import type { Logger } from 'pino';
import pg from 'pg';
import { createClient } from 'redis';
import { z } from 'zod';
import type { ChaosPgExhaustData, ChaosRedisFillData } from '../bus/index.js';
import type { CheckConfig } from './check-kinds.js';

const ChaosEndpoint = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('redis'), host: z.string(), port: z.number().int() }).strict(),
  z.object({ kind: z.literal('postgres'), host: z.string(), port: z.number().int(), user: z.string(), database: z.string() }).strict(),
  z.object({ kind: z.literal('container'), socket: z.string(), container: z.string() }).strict(),
]);

/**
 * What the chaos agent knows of each target: its data services' host and port (for PostgreSQL the
 * application role it connects as — never a password, never the handlers' monitoring role), and
 * for a docker target its engine's socket and container. A Redis in a container has both.
 */
export const ChaosEndpoints = z.record(z.string(), z.array(ChaosEndpoint));
export type ChaosEndpoints = z.infer<typeof ChaosEndpoints>;
type ChaosEndpoint = z.infer<typeof ChaosEndpoint>;

/** The chaos endpoints of targets: their container, and their declared data-service checks (a postgres check without `appRole` gives none). */
export function chaosEndpoints(targets: readonly { name: string; checks: readonly CheckConfig[]; container?: { socket: string; container: string } }[]): ChaosEndpoints {
  const out: ChaosEndpoints = {};
  for (const t of targets) {
    const mine: ChaosEndpoint[] = t.container ? [{ kind: 'container', ...t.container }] : [];
    for (const c of t.checks) {
      if (c.kind === 'redis') mine.push({ kind: 'redis', host: c.host, port: c.port });
      if (c.kind === 'postgres' && c.appRole) mine.push({ kind: 'postgres', host: c.host, port: c.port, user: c.appRole, database: c.database });
    }
    if (mine.length) out[t.name] = mine;
  }
  return out;
}

const MAX_WRITES = 100_000;
const MAX_CONNECTIONS = 1000;

/** `chaos.redis_fill` and `chaos.pg_exhaust`: the chaos agent's faults against data services. */
export class DataServiceFaults {
  readonly #held = new Set<pg.Client>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly endpoints: ChaosEndpoints,
    private readonly log: Logger,
  ) {}

  #endpoint<K extends 'redis' | 'postgres'>(target: string, kind: K): Extract<ChaosEndpoint, { kind: K }> {
    const e = this.endpoints[target]?.find((x) => x.kind === kind);
    if (!e) throw new Error(`"${target}" has no ${kind} endpoint (declare a ${kind} check on it)`);
    return e as Extract<ChaosEndpoint, { kind: K }>;
  }

  /** Writes `<prefix><time>:<n>` values (default prefix `cache:fill:`) until Redis answers OOM. */
  async redisFill(d: ChaosRedisFillData): Promise<Record<string, unknown>> {
    const e = this.#endpoint(d.target, 'redis');
    const r = createClient({ socket: { host: e.host, port: e.port, reconnectStrategy: false } });
    r.on('error', () => undefined);
    await r.connect();
    const value = 'x'.repeat(d.valueBytes);
    let written = 0;
    let answer = '';
    try {
      for (; written < MAX_WRITES; written++) {
        try {
          await r.set(`${d.prefix}${Date.now()}:${written}`, value);
        } catch (err) {
          answer = (err as Error).message;
          break;
        }
      }
    } finally {
      await r.disconnect().catch(() => undefined);
    }
    if (!answer.startsWith('OOM')) throw new Error(`Redis never answered OOM after ${written} writes${answer ? ` (it answered: ${answer})` : ''}`);
    return { target: d.target, written, bytes: written * d.valueBytes, answer };
  }

  /** Opens connections until PostgreSQL refuses one, holds them `hold` s, then ends them. */
  async pgExhaust(d: ChaosPgExhaustData): Promise<Record<string, unknown>> {
    const e = this.#endpoint(d.target, 'postgres');
    const mine: pg.Client[] = [];
    let answer = '';
    while (mine.length < MAX_CONNECTIONS) {
      const c = new pg.Client({ host: e.host, port: e.port, user: e.user, database: e.database, connectionTimeoutMillis: 2000, application_name: 'homeostat-chaos' });
      c.on('error', () => undefined); // a backend ended by postgres.terminate_idle
      try {
        await c.connect();
      } catch (err) {
        answer = (err as Error).message;
        break;
      }
      mine.push(c);
      this.#held.add(c);
    }
    const release = () => {
      for (const c of mine) {
        this.#held.delete(c);
        void c.end().catch(() => undefined);
      }
    };
    if (!answer) {
      release();
      throw new Error(`PostgreSQL accepted ${mine.length} connections without refusing one`);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      release();
      this.log.info({ target: d.target, held: mine.length }, 'pg_exhaust over: connections released');
    }, d.hold * 1000);
    this.#timers.add(timer);
    return { target: d.target, held: mine.length, answer, hold: d.hold };
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    await Promise.all([...this.#held].map((c) => c.end().catch(() => undefined)));
    this.#held.clear();
  }
}
