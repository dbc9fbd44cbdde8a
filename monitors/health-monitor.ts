import type { Logger } from 'pino';
import {
  HeartbeatData,
  heartbeatComponent,
  RunPhaseData,
  subjects,
  type BusClient,
  type DockerReachableData,
  type DockerUnreachableData,
  type HeartbeatMissedData,
  type HeartbeatRestoredData,
  type TargetExitedData,
  type TargetRapidCheckData,
  type TargetRecoveredData,
  type TargetUnhealthyData,
} from '../bus/index.js';
import { checkEvents, checkName, checkPlan, nextAttemptMs, runCheck, type CheckAttempt, type CheckConfig, type CheckPlan, type TargetRuntime, type TargetStateChange } from '../targets/index.js';

/** One declared check as the monitor last saw it. */
export interface CheckHealth {
  name: string;
  kind: string;
  /** The last attempt's outcome (null: none since the last start). */
  ok: boolean | null;
  lastResult: CheckAttempt | null;
  /** Consecutive failures counted (not those inside the start grace). */
  failures: number;
  /** In an outage: `events.target.unhealthy` (or `heartbeat.missed`) was published and not yet ended. */
  unhealthy: boolean;
}

/** A target's health, for the stress runner and the dashboard. */
export interface TargetHealth {
  target: string;
  running: boolean;
  /** Running and no check in an outage. */
  healthy: boolean;
  checks: CheckHealth[];
}

interface CheckState {
  check: CheckConfig;
  plan: CheckPlan;
  name: string;
  timer: NodeJS.Timeout | null;
  /** Bumped on every start/exit so a late attempt of an earlier life is dropped. */
  gen: number;
  graceUntil: number;
  failures: number;
  successes: number;
  unhealthy: boolean;
  unhealthySince: number;
  last: CheckAttempt | null;
}

interface Watched {
  rt: TargetRuntime;
  active: boolean;
  startedAt: number;
  lastBeat: number | null;
  checks: CheckState[];
  off: () => void;
  /** Since when the container's own HEALTHCHECK says unhealthy (docker targets; 0: it does not). */
  dockerUnhealthySince: number;
  /** Rapid-check mode (after a fix): until when, what started it, and what it saw. */
  rapid: { until: number; timer: NodeJS.Timeout; runId: string | null; playbook: string | null; attempts: number; failures: number } | null;
}

export interface HealthMonitorOptions {
  bus: BusClient;
  targets: readonly TargetRuntime[];
  log: Logger;
  /** After a fix, the target's checks run every `everyMs` for `forMs` (default every 2 s for 60 s). */
  rapidCheck?: { everyMs: number; forMs: number };
}

/**
 * Runs every target's declared checks on their intervals while the target runs, and turns its
 * driver's state stream into `events.target.exited`.
 *
 * - A check failing `failures` times in a row (outside the start grace) publishes
 *   `events.target.unhealthy` once per outage; `successes` passes in a row then publish
 *   `events.target.recovered`. The `heartbeat` kind publishes `events.heartbeat.missed` /
 *   `events.heartbeat.restored` instead (S01 and the heartbeat-restart playbook rely on them); a
 *   kind that names its own events (`redis`, `postgres`) publishes its failure event with the probe's
 *   metrics (e.g. `events.redis.memory_pressure`), or its unreachable event when the server could not be asked.
 * - After every (re)start the counts reset and the start grace applies; an outage spanning a
 *   restart stays open until the check passes again.
 * - Rapid-check mode: when a run on a target resolves (`runs.<id>.resolved`), its checks run every
 *   2 s for 60 s (a check already faster keeps its interval), announced with
 *   `events.target.rapid_check` (`started`, then `ended` with the attempts and failures seen).
 * - A target that is not running is not checked: its unexpected exit is reported once, as
 *   `events.target.exited` (pushed from the driver's exit event), and a start failure as
 *   `events.target.exited` with `pid: null` and `error`.
 */
export class HealthMonitor {
  readonly #watched = new Map<string, Watched>();
  #stopBeats: (() => void) | null = null;

  constructor(private readonly opts: HealthMonitorOptions) {}

  /** Subscribes to heartbeats and to every driver's state; start before the targets start. */
  start(): void {
    const sub = this.opts.bus.subscribe(subjects.heartbeatAll, HeartbeatData, (env) => {
      const w = this.#watched.get(heartbeatComponent(env.subject) ?? '');
      // a late beat of the previous process does not count for the new one
      if (w && (!env.data.pid || !w.rt.pid || env.data.pid === w.rt.pid)) w.lastBeat = Date.now();
    });
    const runs = this.opts.bus.subscribe(subjects.runsResolved, RunPhaseData, (env) => {
      const { target, runId, playbook } = env.data;
      if (target && this.#watched.has(target)) this.startRapidCheck(target, { runId, playbook });
    });
    this.#stopBeats = () => {
      sub.unsubscribe();
      runs.unsubscribe();
    };
    for (const rt of this.opts.targets) {
      const w: Watched = {
        rt,
        active: false,
        startedAt: 0,
        lastBeat: null,
        checks: rt.checks.map((check) => ({
          check,
          plan: checkPlan(check),
          name: checkName(check),
          timer: null,
          gen: 0,
          graceUntil: 0,
          failures: 0,
          successes: 0,
          unhealthy: false,
          unhealthySince: 0,
          last: null,
        })),
        off: () => undefined,
        dockerUnhealthySince: 0,
        rapid: null,
      };
      w.off = rt.driver.onState((s) => this.#onState(w, s));
      this.#watched.set(rt.config.name, w);
      if (rt.running) this.#activate(w);
    }
  }

  #onState(w: Watched, s: TargetStateChange): void {
    const target = w.rt.config.name;
    if (s.kind === 'started') {
      this.#activate(w);
      return;
    }
    if (s.kind === 'health') {
      this.#onDockerHealth(w, s.status, s.at);
      return;
    }
    if (s.kind === 'unreachable' || s.kind === 'reachable') {
      // the target's state is unknown while its engine is away: its checks keep running and judge it
      if (s.kind === 'unreachable') this.opts.bus.publish(subjects.event('docker', 'unreachable'), 'docker.unreachable', { target, error: s.error } satisfies DockerUnreachableData, { target });
      else this.opts.bus.publish(subjects.event('docker', 'reachable'), 'docker.reachable', { target } satisfies DockerReachableData, { target });
      return;
    }
    this.#deactivate(w);
    if (s.kind === 'exited' && s.expected) return;
    const data: TargetExitedData =
      s.kind === 'exited'
        ? { target, pid: s.pid || null, code: s.code, signal: s.signal, uptimeMs: s.uptimeMs, restarts: s.restarts, ...(s.cause ? { rootCause: s.cause.rootCause } : {}), ...(s.oom ? { oom: s.oom } : {}) }
        : { target, pid: null, code: null, signal: null, uptimeMs: 0, restarts: s.restarts, error: s.error };
    this.opts.log.warn(data, s.kind === 'exited' ? 'target exited unexpectedly' : 'target could not be started');
    this.opts.bus.publish(subjects.event('target', 'exited'), 'target.exited', data, { target });
  }

  /**
   * A container's HEALTHCHECK verdict, pushed from the events stream: `unhealthy` publishes
   * `events.target.unhealthy` (check `docker-healthcheck`, kind `docker`) once per outage, and the
   * next `healthy` `events.target.recovered`.
   */
  #onDockerHealth(w: Watched, status: 'healthy' | 'unhealthy', at: number): void {
    const target = w.rt.config.name;
    const check = 'docker-healthcheck';
    if (status === 'unhealthy') {
      if (w.dockerUnhealthySince) return;
      w.dockerUnhealthySince = Date.now();
      const data: TargetUnhealthyData = { target, check, kind: 'docker', reason: "the container's HEALTHCHECK reports unhealthy", latencyMs: Math.max(0, Date.now() - at), failures: 1 };
      this.opts.log.warn(data, 'container unhealthy (its HEALTHCHECK)');
      this.opts.bus.publish(subjects.event('target', 'unhealthy'), 'target.unhealthy', data, { target });
      return;
    }
    if (!w.dockerUnhealthySince) return;
    const outageMs = Date.now() - w.dockerUnhealthySince;
    w.dockerUnhealthySince = 0;
    this.opts.log.info({ target, check, outageMs }, 'container healthy again (its HEALTHCHECK)');
    this.opts.bus.publish(subjects.event('target', 'recovered'), 'target.recovered', { target, check, kind: 'docker', outageMs, latencyMs: Math.max(0, Date.now() - at) } satisfies TargetRecoveredData, { target });
  }

  #activate(w: Watched): void {
    const now = Date.now();
    w.active = true;
    w.startedAt = now;
    w.lastBeat = null;
    for (const cs of w.checks) {
      this.#halt(cs);
      cs.failures = 0;
      cs.successes = 0;
      cs.last = null;
      cs.graceUntil = now + cs.plan.startGraceMs;
      this.#schedule(w, cs, cs.plan.everyMs);
    }
  }

  #deactivate(w: Watched): void {
    w.active = false;
    for (const cs of w.checks) this.#halt(cs);
  }

  #halt(cs: CheckState): void {
    cs.gen++;
    if (cs.timer) clearTimeout(cs.timer);
    cs.timer = null;
  }

  /**
   * Schedules the next attempt. Polled checks fire on a grid of their interval (wall clock), so
   * checks sharing an interval fire in one timer tick and their sockets answer in a few event-loop
   * wake-ups: on a mostly idle machine each wake-up, not each check, is what costs (see bench:health).
   */
  #schedule(w: Watched, cs: CheckState, delayMs: number): void {
    const gen = cs.gen;
    const now = Date.now();
    const grid = cs.check.kind === 'heartbeat' ? 1 : this.#everyMs(w, cs);
    // the nearest grid point (a timer that fired a little late must not slip to the point after)
    let at = Math.round((now + delayMs) / grid) * grid;
    if (at <= now) at += grid;
    cs.timer = setTimeout(() => void this.#attempt(w, cs, gen), at - now);
  }

  async #attempt(w: Watched, cs: CheckState, gen: number): Promise<void> {
    cs.timer = null;
    const started = performance.now();
    // silence is counted from the start until the first beat
    const heartbeatAgeMs = () => Date.now() - (w.lastBeat ?? w.startedAt);
    const r = await runCheck(cs.check, { target: w.rt.config.name, driver: w.rt.driver, port: w.rt.port, heartbeatAgeMs });
    if (gen !== cs.gen || !w.active) return;
    this.#judge(w, cs, r);
    if (w.rapid) {
      w.rapid.attempts++;
      if (!r.ok) w.rapid.failures++;
    }
    const next = Math.min(nextAttemptMs(cs.check, r, { heartbeatAgeMs }), this.#everyMs(w, cs));
    this.#schedule(w, cs, Math.max(0, next - (performance.now() - started)));
  }

  /** The check's interval now: its own, or the rapid-check interval when that is shorter and the mode is on. */
  #everyMs(w: Watched, cs: CheckState): number {
    const rapid = this.opts.rapidCheck?.everyMs ?? 2000;
    return w.rapid && w.rapid.until > Date.now() ? Math.min(cs.plan.everyMs, rapid) : cs.plan.everyMs;
  }

  /**
   * Starts (or extends) the rapid-check mode of `target`: its checks run every 2 s (the
   * `rapidCheck` option) for 60 s. Called when a run on it resolves; callable directly.
   */
  startRapidCheck(target: string, by: { runId?: string; playbook?: string } = {}): void {
    const w = this.#watched.get(target);
    if (!w) return;
    const { everyMs, forMs } = this.opts.rapidCheck ?? { everyMs: 2000, forMs: 60_000 };
    const data = (phase: 'started' | 'ended'): TargetRapidCheckData => ({
      target,
      phase,
      everyMs,
      forMs,
      runId: w.rapid?.runId ?? null,
      playbook: w.rapid?.playbook ?? null,
      attempts: w.rapid?.attempts ?? 0,
      failures: w.rapid?.failures ?? 0,
    });
    if (w.rapid) clearTimeout(w.rapid.timer);
    const timer = setTimeout(() => {
      this.opts.log.info({ target, attempts: w.rapid?.attempts, failures: w.rapid?.failures }, 'rapid-check mode ended');
      this.opts.bus.publish(subjects.event('target', 'rapid_check'), 'target.rapid_check', data('ended'), { target });
      w.rapid = null;
      // the attempts already due at the rapid interval go back to their own
      this.#reschedule(w, (cs) => cs.plan.everyMs > everyMs, (cs) => cs.plan.everyMs);
    }, forMs);
    timer.unref();
    w.rapid = { until: Date.now() + forMs, timer, runId: by.runId ?? null, playbook: by.playbook ?? null, attempts: w.rapid?.attempts ?? 0, failures: w.rapid?.failures ?? 0 };
    this.opts.log.info({ target, everyMs, forMs, runId: by.runId }, 'rapid-check mode: checking the target after its fix');
    this.opts.bus.publish(subjects.event('target', 'rapid_check'), 'target.rapid_check', data('started'), { target });
    // checks waiting longer than the rapid interval are brought forward
    this.#reschedule(w, (cs) => cs.plan.everyMs > everyMs, () => everyMs);
  }

  /** Re-times the waiting (not in-flight) non-heartbeat checks of an active target that `which` picks. */
  #reschedule(w: Watched, which: (cs: CheckState) => boolean, delayMs: (cs: CheckState) => number): void {
    if (!w.active) return;
    for (const cs of w.checks) {
      if (cs.check.kind === 'heartbeat' || !cs.timer || !which(cs)) continue;
      this.#halt(cs);
      this.#schedule(w, cs, delayMs(cs));
    }
  }

  #judge(w: Watched, cs: CheckState, r: CheckAttempt): void {
    const target = w.rt.config.name;
    const now = Date.now();
    cs.last = r;
    if (r.ok) {
      cs.failures = 0;
      cs.successes++;
      // a pass ends the start grace early, but a heartbeat passes on silence since the start until the
      // first beat: only a beat actually seen ends its grace (a slow first beat is not an outage)
      if (cs.check.kind !== 'heartbeat' || w.lastBeat !== null) cs.graceUntil = 0;
      if (cs.unhealthy && cs.successes >= cs.plan.successes) {
        cs.unhealthy = false;
        const outageMs = now - cs.unhealthySince;
        this.opts.log.info({ target, check: cs.name, outageMs }, 'check recovered');
        if (cs.check.kind === 'heartbeat') {
          this.opts.bus.publish(subjects.event('heartbeat', 'restored'), 'heartbeat.restored', { target, outageMs } satisfies HeartbeatRestoredData, { target });
        } else {
          const data: TargetRecoveredData = { target, check: cs.name, kind: cs.check.kind, outageMs, latencyMs: r.latencyMs };
          this.opts.bus.publish(subjects.event('target', 'recovered'), 'target.recovered', data, { target });
        }
      }
      return;
    }
    cs.successes = 0;
    if (now < cs.graceUntil) return;
    cs.failures++;
    if (cs.unhealthy || cs.failures < cs.plan.failures) return;
    cs.unhealthy = true;
    cs.unhealthySince = now;
    this.opts.log.warn({ target, check: cs.name, reason: r.reason, failures: cs.failures }, 'check failed: target unhealthy');
    if (cs.check.kind === 'heartbeat') {
      const intervalMs = cs.check.interval;
      const silentMs = now - (w.lastBeat ?? w.startedAt);
      const data: HeartbeatMissedData = {
        target,
        lastSeen: w.lastBeat === null ? null : new Date(w.lastBeat).toISOString(),
        missedIntervals: Math.max(cs.check.misses, Math.floor(silentMs / intervalMs)),
        intervalMs,
      };
      this.opts.bus.publish(subjects.event('heartbeat', 'missed'), 'heartbeat.missed', data, { target });
    } else if (checkEvents(cs.check)) {
      // a kind with its own events (redis, postgres) names the failure, with what it measured
      const ev = checkEvents(cs.check)!;
      const name = r.unreachable ? ev.unreachable : ev.failure;
      const [family, kind] = name.split('.') as [string, string];
      const base = { target, check: cs.name, kind: cs.check.kind, reason: r.reason, latencyMs: r.latencyMs, failures: cs.failures };
      this.opts.bus.publish(subjects.event(family, kind), name, r.unreachable ? base : { ...base, metrics: r.metrics ?? null }, { target });
    } else {
      const data: TargetUnhealthyData = { target, check: cs.name, kind: cs.check.kind, reason: r.reason, latencyMs: r.latencyMs, failures: cs.failures };
      this.opts.bus.publish(subjects.event('target', 'unhealthy'), 'target.unhealthy', data, { target });
    }
  }

  /** The target's health as last seen; throws for an unknown target name. */
  state(name: string): TargetHealth {
    const w = this.#watched.get(name);
    if (!w) throw new Error(`the health monitor does not watch "${name}"`);
    const checks = w.checks.map((cs) => ({ name: cs.name, kind: cs.check.kind, ok: cs.last?.ok ?? null, lastResult: cs.last, failures: cs.failures, unhealthy: cs.unhealthy }));
    return { target: name, running: w.active, healthy: w.active && !w.dockerUnhealthySince && checks.every((c) => !c.unhealthy), checks };
  }

  /** Targets with a check in an outage. */
  get unhealthy(): string[] {
    return [...this.#watched.values()].filter((w) => w.dockerUnhealthySince > 0 || w.checks.some((c) => c.unhealthy)).map((w) => w.rt.config.name);
  }

  stop(): void {
    this.#stopBeats?.();
    this.#stopBeats = null;
    for (const w of this.#watched.values()) {
      w.off();
      if (w.rapid) clearTimeout(w.rapid.timer);
      w.rapid = null;
      this.#deactivate(w);
    }
    this.#watched.clear();
  }
}
