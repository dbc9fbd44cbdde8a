import type { Logger } from 'pino';
import {
  AclViolationData,
  subjectMatches,
  subjects,
  type AclEventData,
  type AclRule,
  type AclViolationSource,
  type BusClient,
} from '../bus/index.js';
import type { AclMonitorConfig } from './acl-monitor-config.js';
import { ThresholdWindow } from './threshold-window.js';

const RULES: readonly AclRule[] = ['spam', 'actor_threshold', 'control_flood'];
const MAX_SUBJECTS = 32;

interface Episode {
  since: number;
  /** When the rule stops holding unless more violations come. */
  heldUntil: number;
}

interface ActorState {
  actor: string;
  total: number;
  windows: Record<AclRule, ThresholdWindow>;
  open: Partial<Record<AclRule, Episode>>;
  subjects: Map<string, number>;
  firstAt: string;
  lastAt: string;
}

export interface AclMonitorOptions {
  config: AclMonitorConfig;
  /** Names the ACL policy knows, to tell a role from a named actor from a stranger. */
  known: { roles: readonly string[]; actors: readonly string[] };
  /**
   * Which sources count. Violations fed through `record()` always count; `self-report`
   * messages on `acl.violation` count only when listed here. The stack counts the server's
   * log when it tails it (so a self-reported violation is not counted twice) and self-reports
   * otherwise.
   */
  subscribe: readonly AclViolationSource[];
  log: Logger;
  /** Clock in ms (tests may drive time). */
  now?: () => number;
}

/** What the ACL monitor has counted since it started. */
export interface AclMonitorStats {
  counted: number;
  bySource: Record<AclViolationSource, number>;
  unknownActors: number;
  actors: number;
  events: Record<AclRule, number>;
}

/**
 * Counts permission violations per actor in sliding windows and publishes
 * `events.acl.spam`, `events.acl.actor_threshold` and `events.acl.control_flood` once per
 * episode (envelope target = the actor). Memory is bounded: a ring of `count` timestamps per
 * rule and actor, at most 32 subjects per actor, and at most `maxActors` actors.
 */
export class AclMonitor {
  readonly #actors = new Map<string, ActorState>();
  readonly #withOpen = new Set<ActorState>();
  readonly #opts: AclMonitorOptions;
  readonly #now: () => number;
  readonly #roles: Set<string>;
  readonly #named: Set<string>;
  #timer: NodeJS.Timeout | null = null;
  readonly stats: AclMonitorStats = {
    counted: 0,
    bySource: { 'nats-log': 0, 'self-report': 0 },
    unknownActors: 0,
    actors: 0,
    events: { spam: 0, actor_threshold: 0, control_flood: 0 },
  };

  constructor(
    private readonly bus: BusClient,
    opts: AclMonitorOptions,
  ) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#roles = new Set(opts.known.roles);
    this.#named = new Set(opts.known.actors);
  }

  start(): void {
    if (this.#opts.subscribe.length) {
      const wanted = new Set(this.#opts.subscribe);
      this.bus.subscribe(subjects.aclViolation, AclViolationData, (env) => {
        if (wanted.has(env.data.source)) this.record(env.data);
      });
    }
    this.#timer = setInterval(() => this.sweep(), Math.max(50, Math.min(250, this.#opts.config.episodeGap / 2)));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  kindOf(actor: string): AclEventData['kind'] {
    return this.#roles.has(actor) ? 'role' : this.#named.has(actor) ? 'actor' : 'unknown';
  }

  /** Counts one violation and publishes an event when a rule's episode begins. */
  record(v: Pick<AclViolationData, 'actor' | 'subject' | 'source' | 'time'>): void {
    const t = this.#now();
    const st = this.#state(v.actor, v.time);
    this.stats.counted++;
    this.stats.bySource[v.source]++;
    st.total++;
    st.lastAt = v.time;
    if (st.subjects.has(v.subject) || st.subjects.size < MAX_SUBJECTS) st.subjects.set(v.subject, (st.subjects.get(v.subject) ?? 0) + 1);

    const c = this.#opts.config;
    this.#step(st, 'spam', st.windows.spam.add(t), t);
    this.#step(st, 'actor_threshold', st.windows.actor_threshold.add(t), t);
    if (c.controlFlood.subjects.some((p) => subjectMatches(p, v.subject))) {
      this.#step(st, 'control_flood', st.windows.control_flood.add(t), t);
    }
  }

  /** Actors with an open episode, and the rules open for each. */
  openEpisodes(): Record<string, AclRule[]> {
    const out: Record<string, AclRule[]> = {};
    for (const st of this.#withOpen) {
      const open = RULES.filter((r) => st.open[r]);
      if (open.length) out[st.actor] = open;
    }
    return out;
  }

  #state(actor: string, time: string): ActorState {
    let st = this.#actors.get(actor);
    if (st) {
      // keep the map in least-recently-seen order
      this.#actors.delete(actor);
      this.#actors.set(actor, st);
      return st;
    }
    const c = this.#opts.config;
    st = {
      actor,
      total: 0,
      windows: {
        spam: new ThresholdWindow(c.spam.count, c.spam.window),
        actor_threshold: new ThresholdWindow(c.actorThreshold.count, c.actorThreshold.window),
        control_flood: new ThresholdWindow(c.controlFlood.count, c.controlFlood.window),
      },
      open: {},
      subjects: new Map(),
      firstAt: time,
      lastAt: time,
    };
    if (this.kindOf(actor) === 'unknown') this.stats.unknownActors++;
    this.#actors.set(actor, st);
    this.#evict();
    this.stats.actors = this.#actors.size;
    return st;
  }

  #evict(): void {
    if (this.#actors.size <= this.#opts.config.maxActors) return;
    for (const [name, st] of this.#actors) {
      if (this.#actors.size <= this.#opts.config.maxActors) break;
      if (!RULES.some((r) => st.open[r])) this.#actors.delete(name);
    }
  }

  #step(st: ActorState, rule: AclRule, holds: boolean, t: number): void {
    if (!holds) return;
    const ep = st.open[rule];
    const heldUntil = st.windows[rule].heldUntil();
    if (ep && t - ep.heldUntil < this.#opts.config.episodeGap) {
      ep.heldUntil = Math.max(ep.heldUntil, heldUntil);
      return;
    }
    // a rule that stopped holding for the episode gap starts a new episode, swept or not
    st.open[rule] = { since: t, heldUntil };
    this.#withOpen.add(st);
    this.#publish(st, rule, t);
  }

  #publish(st: ActorState, rule: AclRule, t: number): void {
    const w = st.windows[rule];
    const data: AclEventData = {
      actor: st.actor,
      rule,
      kind: this.kindOf(st.actor),
      count: w.within(t),
      threshold: w.count,
      windowMs: w.windowMs,
      total: st.total,
      subjects: [...st.subjects.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([s]) => s),
      firstAt: st.firstAt,
      lastAt: st.lastAt,
    };
    this.stats.events[rule]++;
    this.#opts.log.warn({ actor: st.actor, rule, count: data.count, kind: data.kind }, `ACL ${rule}`);
    this.bus.publish(subjects.event('acl', rule), `acl.${rule}`, data, { target: st.actor });
  }

  /** Closes episodes whose rule has not held for the episode gap (runs on a timer). */
  sweep(): void {
    const t = this.#now();
    const gap = this.#opts.config.episodeGap;
    for (const st of this.#withOpen) {
      for (const rule of RULES) {
        const ep = st.open[rule];
        if (!ep) continue;
        if (t - ep.heldUntil >= gap) {
          delete st.open[rule];
          this.#opts.log.info({ actor: st.actor, rule, durationMs: t - ep.since }, 'ACL episode over');
        }
      }
      if (!RULES.some((r) => st.open[r])) this.#withOpen.delete(st);
    }
  }
}
