import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadletterData, subjects } from '../bus/index.js';
import { ChaosAgent, ProcessDriver, readProc, type TargetStateChange } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

describe('chaos agent', () => {
  it('freezes the target with SIGSTOP and continues the same process after `seconds`; bad faults are dead-lettered', async () => {
    await using ctx = await setup();
    const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
    ctx.defer(() => victim.kill('SIGKILL'));
    const pid = victim.pid!;
    const agent = await ChaosAgent.start(ctx.nats.credentials('chaos'), ['w1'], ctx.log);
    ctx.defer(() => agent.stop());
    const target = await ctx.connect('target', 'w1');
    const op = await ctx.connect('operator');

    const injected = nextMessage(op, 'events.chaos.injected', () => true, 5000);
    await op.flush();
    // the agent learns the pid from the target's heartbeat, then a plain JSON body (as `nats pub` sends) injects
    target.publish(subjects.heartbeat('w1'), 'heartbeat', { seq: 0, intervalMs: 100, pid });
    // once the server has processed the beat, it reaches the agent before anything published after it
    await target.flush();
    op.nc.publish('chaos.heartbeat_pause', JSON.stringify({ target: 'w1', seconds: 0.5 }));
    expect((await injected).data).toMatchObject({ fault: 'heartbeat_pause', target: 'w1', pid });
    await expect.poll(() => readProc(pid)?.state).toBe('T');
    await expect.poll(() => readProc(pid)?.state, { timeout: 5000 }).toBe('S');

    const reasons = async (subject: string, body: string) => {
      const dl = nextMessage(op, 'deadletter.chaos', (e) => (e.data as { subject: string }).subject === subject, 5000, DeadletterData);
      await op.flush();
      op.nc.publish(subject, body);
      return (await dl).data.reason;
    };
    expect(await reasons('chaos.heartbeat_pause', '{"target":"w1"}')).toMatch(/seconds/);
    expect(await reasons('chaos.heartbeat_pause', 'nonsense')).toMatch(/not JSON/);
    expect(await reasons('chaos.meteor_strike', '{"target":"w1"}')).toMatch(/unknown fault "meteor_strike"/);
    expect(await reasons('chaos.heartbeat_pause', '{"target":"engine","seconds":1}')).toMatch(/not a registered target/);
    expect(readProc(pid)?.state).toBe('S');
  });

  it('kills and pauses any target by its pid file; an unknown target or a missing pid file is dead-lettered', async () => {
    await using ctx = await setup();
    const pidDir = join(ctx.dir, 'targets');
    const spec = (name: string) => ({ name, command: 'sh', args: ['-c', 'sleep 60 & wait'], env: {}, stopGraceMs: 1000, critical: false, protected: false, pidDir });
    const web = new ProcessDriver(spec('web'), ctx.log);
    ctx.defer(() => web.stop());
    await web.start();
    const pid = (await web.status()).pid!;
    expect(JSON.parse(readFileSync(join(pidDir, 'web.pid'), 'utf8'))).toMatchObject({ pid, startTime: readProc(pid)!.startTime });
    const agent = await ChaosAgent.start(ctx.nats.credentials('chaos'), ['web', 'idle'], ctx.log, {}, pidDir);
    ctx.defer(() => agent.stop());
    const op = await ctx.connect('operator');

    // pause: the whole process group stops, and continues after `seconds`
    await expect.poll(async () => (await web.pids()).length).toBe(2);
    const tree = await web.pids();
    let injected = nextMessage(op, 'events.chaos.injected', () => true, 5000);
    await op.flush();
    op.nc.publish('chaos.process_pause', JSON.stringify({ target: 'web', seconds: 0.5 }));
    expect((await injected).data).toMatchObject({ fault: 'process_pause', target: 'web', pid, group: true });
    for (const p of tree) await expect.poll(() => readProc(p)?.state).toBe('T');
    for (const p of tree) await expect.poll(() => readProc(p)?.state, { timeout: 5000 }).toBe('S');

    // kill: the target's main process gets the signal; the driver sees an unexpected exit
    const exited = new Promise<TargetStateChange>((resolve) => web.onState(resolve));
    injected = nextMessage(op, 'events.chaos.injected', () => true, 5000);
    await op.flush();
    op.nc.publish('chaos.process_kill', JSON.stringify({ target: 'web', signal: 'SIGKILL' }));
    expect((await injected).data).toMatchObject({ fault: 'process_kill', target: 'web', pid, signal: 'SIGKILL' });
    expect(await exited).toMatchObject({ kind: 'exited', pid, signal: 'SIGKILL', expected: false });
    expect(existsSync(join(pidDir, 'web.pid'))).toBe(false);

    const reasons = async (subject: string, body: string) => {
      const dl = nextMessage(op, 'deadletter.chaos', (e) => (e.data as { subject: string }).subject === subject, 5000, DeadletterData);
      await op.flush();
      op.nc.publish(subject, body);
      return (await dl).data.reason;
    };
    expect(await reasons('chaos.process_kill', '{"target":"web"}')).toMatch(/no pid file .*"web"/);
    expect(await reasons('chaos.process_kill', '{"target":"idle","signal":"SIGTERM"}')).toMatch(/no pid file/);
    expect(await reasons('chaos.process_pause', '{"target":"nats","seconds":1}')).toMatch(/not a registered target/);
    expect(await reasons('chaos.process_kill', '{"target":"web","signal":"kill"}')).toMatch(/signal/);
  });
});
