import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import type { ScoredStack } from './scored-stack.js';

async function healthOk(url: string | undefined): Promise<boolean> {
  if (!url) return true;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(500) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A fresh stack for one scenario run (its own nats-server, targets and chaos agent), stopped on release. */
export async function freshStack(settings: Readonly<Settings>, log: Logger): Promise<ScoredStack> {
  const stack = await startStack({ settings, log, chaos: true });
  const target = (name: string) => {
    const t = stack.registry.get(name);
    return { name, heartbeat: { intervalMs: t.intervalMs, misses: t.misses } };
  };
  return {
    mode: 'fresh',
    operator: stack.credentials('operator'),
    natsMonitorUrl: stack.nats?.monitorUrl ?? null,
    has: (name) => stack.registry.has(name),
    get: target,
    get names() {
      return stack.registry.names;
    },
    healthy: (name) => healthOk(stack.registry.get(name).driver.healthUrl),
    calm: () => ({ calm: stack.resourceMonitor.calm, cpuPct: stack.resourceMonitor.last?.cpuPct ?? null }),
    homeostatPids: () => stack.homeostatPids(),
    pids: () => stack.pids(),
    release: () => stack.stop(),
  };
}
