import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { BusClient, subjects, TargetRecoveredData, TargetUnhealthyData, type Credentials } from '../bus/index.js';
import { findLeftovers, holderAlive, LOCK_FILE, readLockHolder } from '../stack/index.js';
import { loadTargets } from '../targets/index.js';
import { heartbeatOf, type ScoredStack, type ScoredTarget } from './scored-stack.js';
import { checksPass } from './target-probe.js';

export interface AttachOptions {
  /** The operator's login to the running stack's bus. */
  operator: Credentials;
  /** The targets file the running `homeostat up` was started with. */
  targetsFile: string;
  /**
   * The running stack's run directory (`$HOMEOSTAT_HOME/run`) when it is on this machine: its
   * nats-server config gives the monitoring URL (S02's cut-off), its lock and pid files give
   * Homeostat's own processes (collateral).
   */
  runDir?: string;
}

/** nats-server's monitoring URL from the generated config (`http: "127.0.0.1:PORT"`). */
function monitorUrlOf(runDir: string | undefined): string | null {
  const conf = runDir && join(runDir, 'nats-server.conf');
  if (!conf || !existsSync(conf)) return null;
  const m = /^http:\s*"([^"]+)"/m.exec(readFileSync(conf, 'utf8'));
  return m ? `http://${m[1]}` : null;
}

/**
 * A running `homeostat up`, scored from outside: the runner starts nothing, injects through
 * `chaos.*` as the operator and measures on the bus. Targets come from the targets file; a target's
 * health is its declared http (with a URL or a fixed port) and tcp checks, probed from here, else
 * the absence of an open `events.target.unhealthy` (the stack's health monitor). What this mode cannot measure: orphans
 * (the stack keeps running), the machine's calm before a CPU fault (the stack's resource monitor
 * is not reachable), and, without `runDir`, the cut-off and the collateral on Homeostat's processes.
 */
export async function attachedStack(opts: AttachOptions, log: Logger): Promise<ScoredStack> {
  const configs = loadTargets(opts.targetsFile);
  const targets = new Map<string, ScoredTarget & { port?: number }>(
    configs.map((c) => [c.name, { name: c.name, heartbeat: heartbeatOf(c.checks), checks: c.checks, port: typeof c.port === 'number' ? c.port : undefined }]),
  );
  const bus = await BusClient.connect(opts.operator, 'stress-attach', log);
  const unhealthy = new Set<string>();
  bus.subscribe(subjects.event('target', 'unhealthy'), TargetUnhealthyData, (env) => void unhealthy.add(env.data.target));
  bus.subscribe(subjects.event('target', 'recovered'), TargetRecoveredData, (env) => void unhealthy.delete(env.data.target));
  await bus.flush();
  const runDir = opts.runDir && existsSync(opts.runDir) ? opts.runDir : undefined;
  return {
    mode: 'attached',
    operator: opts.operator,
    natsMonitorUrl: monitorUrlOf(runDir),
    has: (name) => targets.has(name),
    get: (name) => {
      const t = targets.get(name);
      if (!t) throw new Error(`no target "${name}" in ${opts.targetsFile}`);
      return t;
    },
    names: [...targets.keys()],
    // checks that need no driver (http with a known URL, tcp) are probed; the rest is read from the stack's events
    healthy: async (name) => {
      const t = targets.get(name);
      const probed = t?.checks.some((c) => c.kind === 'tcp' || (c.kind === 'http' && (c.url || t.port)));
      return probed ? checksPass(name, t!.checks, { port: t!.port }) : !unhealthy.has(name);
    },
    monitorSeesHealthy: () => null,
    lastStart: () => null,
    calm: () => null,
    homeostatPids: () => {
      if (!runDir) return null;
      const holder = readLockHolder(join(dirname(runDir), LOCK_FILE));
      const own = findLeftovers(runDir, -1, false)
        .filter((l) => !l.file.includes(`/targets/`))
        .map((l) => l.pid);
      return [...(holder && holderAlive(holder) ? [holder.pid] : []), ...own];
    },
    pids: () => null,
    release: () => bus.close(),
  };
}
