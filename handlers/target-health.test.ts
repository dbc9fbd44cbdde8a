import { describe, expect, it } from 'vitest';
import { ActionResultData, freePort, newId, type BusClient } from '../bus/index.js';
import { TargetRegistry, TargetsFileSchema } from '../targets/index.js';
import { ActionServer, HeartbeatTracker, processRestart, targetHealth } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

async function call(engine: BusClient, action: string, params: Record<string, unknown>) {
  const actionId = newId();
  return (await engine.call(`actions.${action}`, actionId, { actionId, action, params }, ActionResultData, 10_000)).data;
}

describe('target.health', () => {
  it("runs the target's declared checks once: a demo worker's heartbeat and /health, a plain program's exec and tcp", async () => {
    await using ctx = await setup();
    const closed = await freePort();
    const targets = TargetsFileSchema.parse({
      targets: [
        { name: 'worker-1', driver: 'process', builtin: 'demo-worker', checks: [{ kind: 'heartbeat' }, { kind: 'http', path: '/health' }] },
        { name: 'box', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'exec', argv: ['true'] }, { kind: 'tcp', port: closed }] },
        { name: 'bare', driver: 'process', command: 'sleep', args: ['60'] },
      ],
    }).targets;
    const registry = await TargetRegistry.create(targets, { targetCredentials: ctx.nats.credentials('target'), log: ctx.log });
    ctx.defer(() => registry.stopAll());
    const handler = await ctx.connect('handler');
    new ActionServer(handler, ctx.log).register(processRestart(registry), targetHealth(registry, new HeartbeatTracker(handler))).start();
    const engine = await ctx.connect('engine');
    const op = await ctx.connect('operator');
    const beat = nextMessage(op, 'heartbeat.worker-1', () => true, 10_000);
    await op.flush();
    await handler.flush();
    await registry.startAll();
    await beat;

    await expect
      .poll(async () => (await call(engine, 'target.health', { target: 'worker-1' })).result, { timeout: 10_000 })
      .toMatchObject({
        target: 'worker-1',
        healthy: true,
        running: true,
        pid: registry.get('worker-1').pid,
        checks: [
          { name: 'heartbeat', kind: 'heartbeat', ok: true },
          { name: 'http', kind: 'http', ok: true, reason: 'status 200' },
        ],
      });
    const box = (await call(engine, 'target.health', { target: 'box' })).result as { healthy: boolean; checks: { name: string; ok: boolean; reason: string; latencyMs: number }[] };
    expect(box.healthy).toBe(false);
    expect(box.checks).toMatchObject([
      { name: 'exec', ok: true, reason: 'exit 0' },
      { name: 'tcp', ok: false, reason: 'connect ECONNREFUSED' },
    ]);
    expect((await call(engine, 'target.health', { target: 'bare' })).result).toMatchObject({ healthy: true, running: true, checks: [] });
    await registry.get('bare').driver.stop();
    expect((await call(engine, 'target.health', { target: 'bare' })).result).toMatchObject({ healthy: false, running: false, pid: null });
  });
});
