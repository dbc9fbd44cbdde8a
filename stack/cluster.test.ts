import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BusClient, loadAclPolicy, RunPhaseData, startNatsCluster } from '../bus/index.js';
import { findLeftovers } from './child-pid-files.js';
import { loadSettings } from '../config/index.js';
import { nextMessage } from '../test/setup.js';
import { startStack } from './stack.js';

/** Replicas of every stream (KV buckets are streams `KV_<bucket>`) as one node's `/jsz` reports them. */
async function streamReplicas(monitorUrl: string): Promise<Record<string, number>> {
  const res = await fetch(`${monitorUrl}/jsz?accounts=true&streams=true&config=true`);
  const body = (await res.json()) as { account_details?: { stream_detail?: { name: string; config?: { num_replicas?: number } }[] }[] };
  const out: Record<string, number> = {};
  for (const a of body.account_details ?? []) for (const s of a.stream_detail ?? []) out[s.name] = s.config?.num_replicas ?? 0;
  return out;
}

describe('stack on a 3-node nats-server cluster', () => {
  it('keeps its streams and KV buckets on 3 replicas, and still heals a frozen worker (S01) after the node under the engine is killed', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-cluster-'));
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_LOG_FORMAT: 'json', HOMEOSTAT_HOME: home, DATABASE_URL: '' }, false);
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const stack = await startStack({ settings, log, cluster: 3, chaos: false, web: false, record: false });
    try {
      const cluster = stack.cluster!;
      expect(cluster.nodes).toHaveLength(3);
      expect(stack.natsUrl.split(',')).toHaveLength(3);
      const replicas = await streamReplicas(cluster.nodes[0]!.monitorUrl);
      expect(replicas).toMatchObject({ HOMEOSTAT_EVENTS: 3, HOMEOSTAT_ACTIONS: 3, KV_HOMEOSTAT_JOURNAL: 3, KV_HOMEOSTAT_TRIGGERS: 3, KV_HOMEOSTAT_IDEMPOTENCY: 3 });

      // the node the engine is connected to dies
      const port = stack.engine.bus.nc.info?.port;
      const victim = cluster.nodes.findIndex((n) => n.url.endsWith(`:${port}`));
      expect(victim).toBeGreaterThanOrEqual(0);
      await cluster.killNode(victim);
      // the survivors elect new leaders for the streams and consumers the dead node led: the fault is
      // injected once their /healthz says JetStream is current again (an event published during the
      // election waits in the outbox and the consumers' next pull; that wait is not what this asserts)
      const survivors = cluster.nodes.filter((_, i) => i !== victim);
      for (const end = Date.now() + 30_000; ; ) {
        const ok = await Promise.all(survivors.map((n) => fetch(`${n.monitorUrl}/healthz`).then((r) => r.ok, () => false)));
        if (ok.every(Boolean)) break;
        if (Date.now() > end) throw new Error(`JetStream not healthy on the surviving nodes 30 s after the kill: ${JSON.stringify(ok)}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const watcher = await BusClient.connect(stack.credentials('operator'), 'watcher', log);
      try {
        const resolved = nextMessage(watcher, 'runs.*.resolved', (e) => e.data.target === 'worker-1', 50_000, RunPhaseData);
        await watcher.flush();
        // S01: the worker stops heartbeating
        const frozen = performance.now();
        for (const pid of await stack.registry.get('worker-1').driver.pids()) process.kill(pid, 'SIGSTOP');
        // heartbeat-restart or target-unhealthy-restart, whichever took the incident: the worker was restarted
        const run = await resolved;
        expect(run.data.playbook).toMatch(/restart/);
        process.stdout.write(`3-node cluster, node under the engine killed: worker-1 frozen → run resolved (${run.data.playbook}) in ${Math.round(performance.now() - frozen)} ms\n`);
        expect(stack.engine.bus.nc.info?.port).not.toBe(port);
      } finally {
        await watcher.close();
      }
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('finds the nodes of a cluster left behind without pid files (by their config under the run directory), for the next up to stop', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'homeostat-cluster-run-'));
    const settings = loadSettings({ ...process.env, NATS_URL: undefined }, false);
    const cluster = await startNatsCluster({ dir: runDir, policy: loadAclPolicy(settings.aclFile), size: 3 });
    try {
      const found = findLeftovers(runDir, process.pid, false).filter((l) => l.name === 'nats-server').map((l) => l.pid);
      expect(found.sort()).toEqual(cluster.nodes.map((n) => n.pid).sort());
    } finally {
      await cluster.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
