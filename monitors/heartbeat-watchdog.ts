import type { Logger } from 'pino';
import { HeartbeatData, heartbeatComponent, subjects, type BusClient } from '../bus/index.js';

export interface WatchedTarget {
  name: string;
  intervalMs: number;
  /** Missed intervals that make an outage (default 3). */
  misses: number;
}

interface State {
  target: WatchedTarget;
  lastSeen: number;
  lastSeenIso: string | null;
  down: boolean;
  downSince: number;
}

/**
 * Watches `heartbeat.<target>` for every registered target. After `misses` missed intervals it
 * publishes `events.heartbeat.missed` once per outage, and `events.heartbeat.restored` when
 * beats return. Malformed heartbeats are dead-lettered by the bus client and never count as beats.
 */
export class HeartbeatWatchdog {
  readonly #state = new Map<string, State>();
  #timer: NodeJS.Timeout | null = null;

  /**
   * @param startGraceMs a target not yet seen gets this long (plus its missed intervals) to send
   *   its first beat before it counts as missed, so a slow start is not an outage.
   */
  constructor(
    private readonly bus: BusClient,
    private readonly targets: WatchedTarget[],
    private readonly log: Logger,
    private readonly startGraceMs = 5000,
  ) {}

  start(): void {
    const now = Date.now();
    for (const t of this.targets) {
      this.#state.set(t.name, { target: t, lastSeen: now + this.startGraceMs, lastSeenIso: null, down: false, downSince: 0 });
    }
    this.bus.subscribe(subjects.heartbeatAll, HeartbeatData, (env) => {
      const name = heartbeatComponent(env.subject);
      const st = name ? this.#state.get(name) : undefined;
      if (!st) return;
      const now = Date.now();
      st.lastSeen = now;
      st.lastSeenIso = new Date(now).toISOString();
      if (st.down) {
        st.down = false;
        const outageMs = now - st.downSince;
        this.log.info({ target: name, outageMs }, 'heartbeat restored');
        this.bus.publish(subjects.event('heartbeat', 'restored'), 'heartbeat.restored', { target: st.target.name, outageMs }, { target: st.target.name });
      }
    });
    const tick = Math.max(5, Math.min(25, ...[...this.#state.values()].map((s) => s.target.intervalMs / 4)));
    this.#timer = setInterval(() => this.#check(), tick);
  }

  #check(): void {
    const now = Date.now();
    for (const st of this.#state.values()) {
      if (st.down) continue;
      const silentMs = now - st.lastSeen;
      if (silentMs > st.target.misses * st.target.intervalMs) {
        st.down = true;
        st.downSince = st.lastSeen;
        const missedIntervals = Math.floor(silentMs / st.target.intervalMs);
        this.log.warn({ target: st.target.name, silentMs, missedIntervals }, 'heartbeat missed');
        this.bus.publish(
          subjects.event('heartbeat', 'missed'),
          'heartbeat.missed',
          { target: st.target.name, lastSeen: st.lastSeenIso, missedIntervals, intervalMs: st.target.intervalMs },
          { target: st.target.name },
        );
      }
    }
  }

  /** Targets currently in an outage. */
  get down(): string[] {
    return [...this.#state.values()].filter((s) => s.down).map((s) => s.target.name);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
