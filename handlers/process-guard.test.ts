import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActionResultData, newId, type BusClient } from '../bus/index.js';
import { listProcUsage, processTree, readCommand, readProcUsage, TargetRegistry, TargetsFileSchema } from '../targets/index.js';
import { ActionServer, ProcessGuard, processKill, processKillRunaway, processRenice, processThrottle } from './index.js';
import { setup, type TestContext } from '../test/setup.js';

const SLEEP = '/bin/sleep';

/** Three real targets: `plain` (sh with two sleeps), `guarded` (protected and critical), `db` (a process named postgres). */
async function startTargets(ctx: TestContext) {
  const pg = join(ctx.dir, 'postgres');
  copyFileSync(SLEEP, pg);
  const targets = TargetsFileSchema.parse({
    targets: [
      { name: 'plain', driver: 'process', command: 'sh', args: ['-c', `${SLEEP} 60 & ${SLEEP} 61 & wait`] },
      { name: 'guarded', driver: 'process', command: 'sh', args: ['-c', `${SLEEP} 62 & wait`], protected: true, critical: true },
      { name: 'db', driver: 'process', command: 'sh', args: ['-c', `${pg} 63 & wait`] },
    ],
  }).targets;
  const registry = await TargetRegistry.create(targets, { targetCredentials: ctx.nats.credentials('target'), log: ctx.log });
  ctx.defer(() => registry.stopAll());
  await registry.startAll();
  // wait until each shell has started its children
  for (const [name, n] of [['plain', 3], ['guarded', 2], ['db', 2]] as const) {
    while ((await registry.get(name).driver.pids()).length < n) await new Promise((r) => setTimeout(r, 10));
  }
  const child = (name: string, comm: string) => {
    const pids = processTree(registry.get(name).pid!);
    return listProcUsage().filter((p) => pids.includes(p.pid) && p.comm === comm).map((p) => p.pid);
  };
  return { registry, child };
}

async function serve(ctx: TestContext, registry: TargetRegistry, homeostatPids: number[]) {
  const handler = await ctx.connect('handler');
  const guard = new ProcessGuard({ registry, homeostatPids: () => homeostatPids });
  new ActionServer(handler, ctx.log)
    .register(processKill(guard), processRenice(guard), processThrottle(registry, guard), processKillRunaway(registry, guard))
    .start();
  await handler.flush();
  const engine = await ctx.connect('engine');
  return (action: string, params: Record<string, unknown>) => call(engine, action, params);
}

async function call(engine: BusClient, action: string, params: Record<string, unknown>) {
  const actionId = newId();
  const env = await engine.call(`actions.${action}`, actionId, { actionId, action, params }, ActionResultData, 10_000);
  return env.data;
}

const alive = (pid: number) => {
  const p = readProcUsage(pid);
  return p !== null && p.state !== 'Z';
};

describe('scoped process remediation: the guard', () => {
  it('refuses pid 1, Homeostat itself, nats-server, PostgreSQL and anything outside a target, naming the rule', async () => {
    await using ctx = await setup();
    const { registry, child } = await startTargets(ctx);
    const act = await serve(ctx, registry, []);
    const outsider = spawn(SLEEP, ['30'], { stdio: 'ignore' });
    ctx.defer(() => outsider.kill('SIGKILL'));
    await new Promise((r) => outsider.once('spawn', r));

    const cases: [string, number, string][] = [
      ['process.kill', 1, 'pid-1'],
      ['process.renice', 1, 'pid-1'],
      ['process.kill', process.pid, 'homeostat-process'],
      ['process.renice', process.pid, 'homeostat-process'],
      ['process.kill', ctx.nats.pid, 'nats-server'],
      ['process.kill', child('db', 'postgres')[0]!, 'database'],
      ['process.kill', outsider.pid!, 'outside-target'],
      ['process.renice', outsider.pid!, 'outside-target'],
      ['process.kill', child('guarded', 'sleep')[0]!, 'protected-target'],
      ['process.renice', child('guarded', 'sleep')[0]!, 'critical-target'],
    ];
    for (const [action, pid, rule] of cases) {
      const r = await act(action, { pid });
      expect(r.status, `${action} ${pid}`).toBe('refused');
      expect(r.error?.message).toContain(`rule "${rule}"`);
      expect(r.error?.code).toBe(`HANDLER_REFUSED_${rule.toUpperCase().replaceAll('-', '_')}`);
    }
    // nothing refused was touched
    for (const pid of [process.pid, ctx.nats.pid, outsider.pid!, ...child('guarded', 'sleep'), ...child('db', 'postgres')]) expect(alive(pid)).toBe(true);
    expect(getPriority(outsider.pid)).toBe(0);
    expect(getPriority(child('guarded', 'sleep')[0])).toBe(0);

    // a process of one target asked for under another target's name is outside that target
    const [sleepA] = child('plain', 'sleep');
    const wrong = await act('process.kill', { pid: sleepA, target: 'guarded' });
    expect(wrong.status).toBe('refused');
    expect(wrong.error?.message).toMatch(/in plain's tree, not guarded's\): rule "outside-target"/);
  });

  it('PostgreSQL processes running on the machine are refused too', async () => {
    await using ctx = await setup();
    const { registry } = await startTargets(ctx);
    const act = await serve(ctx, registry, []);
    const own = await registry.get('db').driver.pids();
    // the postmaster lives as long as the server (backends come and go with other clients)
    const machinePg = listProcUsage().filter((p) => p.comm === 'postgres' && !own.includes(p.pid) && readCommand(p.pid)?.includes(' -D '));
    for (const p of machinePg) {
      const r = await act('process.kill', { pid: p.pid });
      expect(r.status).toBe('refused');
      expect(r.error?.message).toContain('rule "database"');
    }
    // the target's own postgres-named process is the one the suite always has
    const r = await act('process.renice', { pid: own.find((pid) => readProcUsage(pid)?.comm === 'postgres')! });
    expect(r.error?.message).toContain('rule "database"');
  });

  it('kills and renices processes inside a registered, non-protected target, and reports a vanished one as gone', async () => {
    await using ctx = await setup();
    const { registry, child } = await startTargets(ctx);
    const act = await serve(ctx, registry, [ctx.nats.pid]);
    const [a, b] = child('plain', 'sleep') as [number, number];

    const reniced = await act('process.renice', { pid: b, nice: 12 });
    expect(reniced).toMatchObject({ status: 'ok', result: { throttled: true, target: 'plain', previousNice: 0, nice: 12 } });
    expect(getPriority(b)).toBe(12);

    const startTime = readProcUsage(a)!.startTime;
    const killed = await act('process.kill', { pid: a, startTime });
    expect(killed).toMatchObject({ status: 'ok', result: { killed: true, gone: false, target: 'plain', signal: 'SIGTERM' } });
    expect(alive(a)).toBe(false);

    // the same request again: the process exited in between, so it is gone, not a failure
    const again = await act('process.kill', { pid: a, startTime });
    expect(again).toMatchObject({ status: 'ok', result: { gone: true, killed: false } });
    const reniceGone = await act('process.renice', { pid: a, startTime });
    expect(reniceGone).toMatchObject({ status: 'ok', result: { gone: true, throttled: false } });
  });

  it('the selecting actions skip what the guard refuses and say which rule', async () => {
    await using ctx = await setup();
    const { registry, child } = await startTargets(ctx);
    const act = await serve(ctx, registry, []);
    // a sleeping process uses no CPU: with minCpuPct 0 every process of every target is selected
    const throttle = await act('process.throttle', { minCpuPct: 0, sample: '50ms' });
    expect(throttle.status).toBe('ok');
    const skipped = throttle.result.skipped as { pid: number; rule: string; target: string }[];
    expect(skipped.filter((s) => s.target === 'guarded').map((s) => s.rule)).toEqual(['critical-target', 'critical-target']);
    expect(skipped.filter((s) => s.target === 'db' && s.rule === 'database').map((s) => s.pid)).toEqual(child('db', 'postgres'));
    const throttled = (throttle.result.throttled as { pid: number }[]).map((t) => t.pid).sort();
    expect(throttled).toEqual([...(await registry.get('plain').driver.pids()), ...child('db', 'sh')].sort());

    const kill = await act('process.kill_runaway', { target: 'guarded', minCpuPct: 0, sample: '50ms' });
    expect(kill).toMatchObject({ status: 'ok', result: { count: 0, killed: [] } });
    expect((kill.result.skipped as { rule: string }[]).map((s) => s.rule)).toEqual(['protected-target', 'protected-target']);
    for (const pid of await registry.get('guarded').driver.pids()) expect(alive(pid)).toBe(true);
  });
});
