import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { startStack, type Stack } from '../stack/index.js';
import type { TargetConfig } from '../targets/index.js';
import { heartbeatOf, type ScoredStack } from './scored-stack.js';
import { checksPass } from './target-probe.js';

/** A fresh stack for one scenario run (its own nats-server, targets and chaos agent), stopped on release (after `beforeRelease`, e.g. a scrape of its /metrics). */
export async function freshStack(settings: Readonly<Settings>, log: Logger, targets?: TargetConfig[], beforeRelease?: (stack: Stack) => Promise<void>): Promise<ScoredStack> {
  const stack = await startStack({ settings, log, chaos: true, ...(targets ? { targets } : {}) });
  const started = new Map<string, number>();
  // a container's start counts from when Homeostat asked the engine to start it (the engine's own start work is the program's cold start)
  for (const t of stack.registry.all())
    t.driver.onState((s) => void (s.kind === 'started' && started.set(t.config.name, performance.now() - (s.requestedAt !== undefined ? Math.max(0, Date.now() - s.requestedAt) : 0))));
  return {
    mode: 'fresh',
    operator: stack.credentials('operator'),
    natsMonitorUrl: stack.nats?.monitorUrl ?? null,
    has: (name) => stack.registry.has(name),
    get: (name) => {
      const t = stack.registry.get(name);
      return { name, heartbeat: heartbeatOf(t.checks), checks: t.checks };
    },
    get names() {
      return stack.registry.names;
    },
    healthy: async (name) => {
      const t = stack.registry.get(name);
      return t.running && (await checksPass(name, t.checks, { driver: t.driver, port: t.port }));
    },
    calm: () => ({ calm: stack.resourceMonitor.calm, cpuPct: stack.resourceMonitor.last?.cpuPct ?? null }),
    homeostatPids: () => stack.homeostatPids(),
    pids: () => stack.pids(),
    monitorSeesHealthy: (name) => {
      const h = stack.healthMonitor.state(name);
      return h.running && h.checks.every((c) => c.ok === true);
    },
    lastStart: (name) => started.get(name) ?? null,
    release: async () => {
      await beforeRelease?.(stack).catch((e: unknown) => log.warn({ err: e }, 'before release failed'));
      await stack.stop();
    },
  };
}
