import type { Credentials } from '../bus/index.js';
import type { CheckConfig } from '../targets/index.js';

/** One target as the runner sees it: its heartbeat contract (when it beats) and how its health is read. */
export interface ScoredTarget {
  name: string;
  /** Heartbeat interval and misses, for targets that declare a `heartbeat` check. */
  heartbeat?: { intervalMs: number; misses: number };
  /** The target's declared checks (targets.yaml). */
  checks: readonly CheckConfig[];
}

/** A target's heartbeat contract, from its declared `heartbeat` check. */
export function heartbeatOf(checks: readonly CheckConfig[]): ScoredTarget['heartbeat'] {
  const hb = checks.find((c) => c.kind === 'heartbeat');
  return hb?.kind === 'heartbeat' ? { intervalMs: hb.interval, misses: hb.misses } : undefined;
}

/**
 * What the stress runner needs of the stack it scores, whether it started it ({@link freshStack})
 * or attached to a running `homeostat up` ({@link attachedStack}). The runner injects through
 * `chaos.*` and measures on the bus as the operator; the rest is what the two modes can tell it.
 */
export interface ScoredStack {
  /** `fresh` or `attached`: an attached stack keeps running after the scenario. */
  readonly mode: 'fresh' | 'attached';
  /** The operator's login: the runner injects and watches with it. */
  readonly operator: Credentials;
  /** nats-server's monitoring URL (for the cut-off of S02); null when unknown. */
  readonly natsMonitorUrl: string | null;
  has(target: string): boolean;
  get(target: string): ScoredTarget;
  readonly names: readonly string[];
  /** Whether `target` runs and passes its declared checks now (attempted once; heartbeats are judged by the runner). */
  healthy(target: string): Promise<boolean>;
  /** Whether the machine is under the resource monitor's thresholds; null when this mode cannot tell. */
  calm(): { calm: boolean; cpuPct: number | null } | null;
  /** Homeostat's own processes (never to be killed or reniced by a fault's remedy); null when unknown. */
  homeostatPids(): number[] | null;
  /** Every process the stack started, to find orphans after it stopped; null in attached mode (it keeps running). */
  pids(): number[] | null;
  /**
   * Whether Homeostat's health monitor has seen every declared check of `target` pass since it last
   * started (out of its start grace, so a fault is judged at once); null when this mode cannot tell.
   */
  monitorSeesHealthy(target: string): boolean | null;
  /** When (performance.now()) the target's process last started, as its driver said; null when this mode cannot tell. */
  lastStart(target: string): number | null;
  /** Stops a fresh stack; an attached one is only let go. */
  release(): Promise<void>;
}
