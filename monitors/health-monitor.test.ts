import { createServer } from 'node:net';
import type { ZodType } from 'zod';
import { describe, expect, it } from 'vitest';
import { freePort, HeartbeatMissedData, subjects, TargetExitedData, TargetRapidCheckData, TargetRecoveredData, TargetUnhealthyData, type BusClient } from '../bus/index.js';
import { readProc, TargetRegistry, TargetsFileSchema } from '../targets/index.js';
import { HealthMonitor } from './index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';
import { BUSYBOX_IMAGE, containerName, removeContainers, requireDocker } from '../test/docker.js';

/** A registry of `targets` (targets.yaml entries) watched by a health monitor; nothing started yet. */
async function watch(ctx: TestContext, targets: unknown[], opts: { rapidCheck?: { everyMs: number; forMs: number } } = {}) {
  const configs = TargetsFileSchema.parse({ targets }).targets;
  const registry = await TargetRegistry.create(configs, { targetCredentials: ctx.nats.credentials('target'), dir: ctx.dir, log: ctx.log });
  ctx.defer(() => registry.stopAll());
  const monitor = new HealthMonitor({ bus: await ctx.connect('monitor'), targets: registry.all(), log: ctx.log, ...opts });
  ctx.defer(() => monitor.stop());
  monitor.start();
  const op = await ctx.connect('operator', 'watcher');
  const seen: { subject: string; target?: string }[] = [];
  op.nc.subscribe('events.>', { callback: (_e, m) => void seen.push({ subject: m.subject, target: (m.json<{ target?: string }>()).target }) });
  await op.flush();
  return { registry, monitor, op, seen };
}

const next = async <T>(op: BusClient, subject: string, target: string, schema: ZodType<T>, timeoutMs = 10_000) => {
  const p = nextMessage(op, subject, (e) => e.target === target, timeoutMs, schema);
  await op.flush();
  return p;
};

describe('health monitor', () => {
  it("a container's HEALTHCHECK going unhealthy is pushed from the events stream as events.target.unhealthy, and healthy again as recovered", async () => {
    const docker = await requireDocker();
    await using ctx = await setup();
    const name = containerName('healthcheck');
    ctx.defer(() => removeContainers(docker, [name]));
    const c = await docker.createContainer({
      name,
      Image: BUSYBOX_IMAGE,
      Cmd: ['sleep', '600'],
      Healthcheck: { Test: ['CMD-SHELL', 'test ! -e /tmp/sick'], Interval: 200e6, Timeout: 1e9, Retries: 1, StartPeriod: 0 },
      HostConfig: { NetworkMode: 'host' },
    });
    await c.start();
    await expect.poll(async () => (await c.inspect()).State.Health?.Status, { timeout: 10_000 }).toBe('healthy');
    const { registry, monitor, op } = await watch(ctx, [{ name: 'hc', driver: 'docker', container: name, stopGrace: '1s' }]);
    expect(await registry.startAll()).toEqual([]);
    const unhealthy = next(op, 'events.target.unhealthy', 'hc', TargetUnhealthyData);
    // the fault, from outside Homeostat: the container's own check starts failing
    await (await c.exec({ Cmd: ['touch', '/tmp/sick'] })).start({ Detach: true });
    expect((await unhealthy).data).toMatchObject({ target: 'hc', check: 'docker-healthcheck', kind: 'docker', failures: 1 });
    expect(monitor.state('hc').healthy).toBe(false);
    expect(monitor.unhealthy).toEqual(['hc']);
    const recovered = next(op, 'events.target.recovered', 'hc', TargetRecoveredData);
    await (await c.exec({ Cmd: ['rm', '/tmp/sick'] })).start({ Detach: true });
    expect((await recovered).data).toMatchObject({ target: 'hc', check: 'docker-healthcheck', kind: 'docker' });
    expect(monitor.state('hc').healthy).toBe(true);
  });

  it('rapid-check mode: once a run on a target resolves, its slow check runs at the rapid interval for the window, announced and ended by events', async () => {
    await using ctx = await setup();
    const { registry, monitor, op } = await watch(ctx, [{ name: 'svc', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'exec', argv: ['true'], interval: '30s' }] }], {
      rapidCheck: { everyMs: 100, forMs: 1500 },
    });
    await registry.startAll();
    // its first attempt is 30 s away
    expect(monitor.state('svc').checks[0]?.lastResult).toBeNull();
    const started = next(op, 'events.target.rapid_check', 'svc', TargetRapidCheckData);
    const engine = await ctx.connect('engine');
    engine.publish(subjects.run('run1', 'resolved'), 'run.resolved', { runId: 'run1', playbook: 'target-crash-restart', target: 'svc' }, { target: 'svc' });
    expect((await started).data).toMatchObject({ target: 'svc', phase: 'started', everyMs: 100, forMs: 1500, runId: 'run1', playbook: 'target-crash-restart' });
    // the 30 s check now runs every 100 ms: attempts follow one another, all passing
    const results = new Set<unknown>([null]);
    await expect.poll(() => (results.add(monitor.state('svc').checks[0]!.lastResult), results.size), { timeout: 5000, interval: 20 }).toBeGreaterThan(4);
    const ended = (await next(op, 'events.target.rapid_check', 'svc', TargetRapidCheckData, 5000)).data;
    expect(ended).toMatchObject({ target: 'svc', phase: 'ended', runId: 'run1', failures: 0 });
    expect(ended.attempts).toBeGreaterThanOrEqual(8);
    // back to its own interval: no attempt in the next 500 ms
    const last = monitor.state('svc').checks[0]!.lastResult;
    await new Promise((r) => setTimeout(r, 500));
    expect(monitor.state('svc').checks[0]!.lastResult).toBe(last);
  });

  it('leaves a serving python http.server alone, reports it unhealthy once when frozen and recovered when continued', async () => {
    await using ctx = await setup();
    const port = await freePort();
    const { registry, monitor, op, seen } = await watch(ctx, [
      {
        name: 'web',
        driver: 'process',
        command: 'python3',
        args: ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', ctx.dir],
        checks: [{ kind: 'http', url: `http://127.0.0.1:${port}/`, interval: '100ms', timeout: '100ms', failures: 2 }],
      },
    ]);
    expect(await registry.startAll()).toEqual([]);
    const web = registry.get('web');
    await expect.poll(() => monitor.state('web').checks[0]?.ok, { timeout: 10_000 }).toBe(true);
    // serving: ten more passing attempts and no event
    await expect.poll(() => monitor.state('web').checks[0]?.lastResult?.reason, { timeout: 5000 }).toBe('status 200');
    const passes = () => monitor.state('web').checks[0]!.lastResult;
    const first = passes();
    await expect.poll(() => passes() !== first).toBe(true);
    expect(seen).toEqual([]);
    expect(monitor.state('web')).toMatchObject({ healthy: true, running: true });

    const unhealthy = next(op, 'events.target.unhealthy', 'web', TargetUnhealthyData);
    const frozenAt = Date.now();
    await web.driver.signal('SIGSTOP');
    const ev = (await unhealthy).data;
    expect(ev).toMatchObject({ target: 'web', check: 'http', kind: 'http', failures: 2 });
    expect(ev.reason).toMatch(/within 100 ms|aborted/);
    expect(Date.now() - frozenAt).toBeLessThan(2000);
    expect(monitor.state('web').healthy).toBe(false);

    const recovered = next(op, 'events.target.recovered', 'web', TargetRecoveredData);
    await web.driver.signal('SIGCONT');
    expect((await recovered).data).toMatchObject({ target: 'web', check: 'http', kind: 'http' });
    expect(seen.filter((s) => s.subject === 'events.target.unhealthy')).toHaveLength(1);
    expect(seen.some((s) => s.subject === 'events.target.exited')).toBe(false);
  });

  it('reports kill -9 as events.target.exited within milliseconds, not as unhealthy; a restart by Homeostat is no exit', async () => {
    await using ctx = await setup();
    const { registry, op, seen } = await watch(ctx, [{ name: 'sleeper', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'exec', argv: ['true'], interval: '50ms' }] }]);
    await registry.startAll();
    const t = registry.get('sleeper');
    await t.driver.restart();
    const pid = t.pid!;
    const exited = next(op, 'events.target.exited', 'sleeper', TargetExitedData);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const ev = await exited;
    const ms = performance.now() - t0;
    expect(ev.data).toMatchObject({ target: 'sleeper', pid, code: null, signal: 'SIGKILL', restarts: 1 });
    expect(ms).toBeLessThan(100);
    // not running: its checks are suspended, so the crash is not also an outage
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.map((s) => s.subject)).toEqual(['events.target.exited']);
  });

  it('reports a target whose program does not exist as exited with the spawn error; the others run on', async () => {
    await using ctx = await setup();
    const { registry, op } = await watch(ctx, [
      { name: 'ghost', driver: 'process', command: 'no-such-program-homeostat' },
      { name: 'sleeper', driver: 'process', command: 'sleep', args: ['60'] },
    ]);
    const exited = next(op, 'events.target.exited', 'ghost', TargetExitedData);
    expect(await registry.startAll()).toEqual(['ghost']);
    expect((await exited).data).toMatchObject({ target: 'ghost', pid: null, uptimeMs: 0, error: expect.stringMatching(/ENOENT/) });
    expect(registry.get('sleeper').running).toBe(true);
    expect(readProc(registry.get('sleeper').pid!)).not.toBeNull();
  });

  it('tcp: passes while a real listener accepts, fails after it closes', async () => {
    await using ctx = await setup();
    const port = await freePort();
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    ctx.defer(() => new Promise((r) => server.close(r)));
    const { registry, monitor, op } = await watch(ctx, [{ name: 'svc', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'tcp', port, interval: '50ms', failures: 2 }] }]);
    await registry.startAll();
    await expect.poll(() => monitor.state('svc').checks[0]?.ok).toBe(true);
    const unhealthy = next(op, 'events.target.unhealthy', 'svc', TargetUnhealthyData);
    server.close();
    expect((await unhealthy).data.reason).toMatch(/ECONNREFUSED/);
  });

  it('exec: argv exit 0 passes, exit 1 fails, a hanging command is abandoned at its timeout', async () => {
    await using ctx = await setup();
    const { registry, monitor, op } = await watch(ctx, [
      {
        name: 'box',
        driver: 'process',
        command: 'sleep',
        args: ['60'],
        checks: [
          { kind: 'exec', name: 'yes', argv: ['true'], interval: '50ms' },
          { kind: 'exec', name: 'no', argv: ['sh', '-c', 'echo broken >&2; exit 1'], interval: '50ms', failures: 1, startGrace: 0 },
          { kind: 'exec', name: 'hang', argv: ['sleep', '5'], interval: '250ms', timeout: '200ms', failures: 1, startGrace: 0 },
        ],
      },
    ]);
    const no = next(op, 'events.target.unhealthy', 'box', TargetUnhealthyData);
    const hang = nextMessage(op, 'events.target.unhealthy', (e) => e.data.check === 'hang', 5000, TargetUnhealthyData);
    await registry.startAll();
    expect((await no).data).toMatchObject({ check: 'no', reason: 'exit 1: broken' });
    const h = (await hang).data;
    expect(h.reason).toMatch(/200 ms/);
    expect(h.latencyMs).toBeGreaterThanOrEqual(199);
    expect(h.latencyMs).toBeLessThan(1000);
    expect(monitor.state('box').checks.find((c) => c.name === 'yes')).toMatchObject({ ok: true, unhealthy: false });
  });

  it('heartbeat: a first beat slower than misses × interval is still within the start grace; the grace ends only on a beat', async () => {
    await using ctx = await setup();
    const { registry, op } = await watch(ctx, [
      { name: 'slow', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'heartbeat', interval: '50ms', misses: 3, startGrace: '1s' }] },
    ]);
    const missed = next(op, 'events.heartbeat.missed', 'slow', HeartbeatMissedData);
    const startedAt = Date.now();
    await registry.startAll();
    // it never beats: silence passes the 150 ms limit at once, but only the end of the grace makes it an outage
    expect((await missed).data).toMatchObject({ target: 'slow', lastSeen: null });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
  });

  it('heartbeat: missed once per outage and restored when beats return; a target without the check is never heartbeat-watched', async () => {
    await using ctx = await setup();
    const { registry, monitor, op, seen } = await watch(ctx, [
      { name: 't1', driver: 'process', command: 'sleep', args: ['60'], checks: [{ kind: 'heartbeat', interval: '50ms', misses: 3, startGrace: 0 }] },
      { name: 't2', driver: 'process', command: 'sleep', args: ['60'] },
    ]);
    await registry.startAll();
    const beater = await ctx.connect('target', 't1');
    let seq = 0;
    const beat = () => {
      beater.publish(subjects.heartbeat('t1'), 'heartbeat', { seq: seq++, intervalMs: 50, pid: registry.get('t1').pid });
      beater.publish(subjects.heartbeat('t2'), 'heartbeat', { seq, intervalMs: 50 });
    };
    let timer = setInterval(beat, 50);
    ctx.defer(() => clearInterval(timer));
    await expect.poll(() => monitor.state('t1').checks[0]?.ok).toBe(true);

    const missed = next(op, 'events.heartbeat.missed', 't1', HeartbeatMissedData);
    clearInterval(timer);
    expect((await missed).data).toMatchObject({ target: 't1', intervalMs: 50 });
    expect((await missed).data.missedIntervals).toBeGreaterThanOrEqual(3);
    const restored = next(op, 'events.heartbeat.restored', 't1', HeartbeatMissedData.pick({ target: true }));
    timer = setInterval(beat, 50);
    await restored;
    clearInterval(timer);
    await next(op, 'events.heartbeat.missed', 't1', HeartbeatMissedData);
    expect(seen.filter((s) => s.subject === 'events.heartbeat.missed').map((s) => s.target)).toEqual(['t1', 't1']);
    expect(seen.some((s) => s.subject.startsWith('events.target.'))).toBe(false);
  });
});
