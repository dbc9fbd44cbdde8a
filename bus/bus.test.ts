import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HeartbeatData, subjects, subjectMatches, InvalidSubjectTokenError, DeadletterData } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

describe('bus', () => {
  it('delivers a valid envelope with its typed data', async () => {
    await using ctx = await setup();
    const a = await ctx.connect('monitor');
    const got = new Promise<unknown>((resolve) => a.subscribe('heartbeat.t1', HeartbeatData, (env) => resolve(env.data)));
    await a.flush();
    a.publish(subjects.heartbeat('t1'), 'heartbeat', { seq: 7, intervalMs: 100, pid: 42 });
    expect(await got).toEqual({ seq: 7, intervalMs: 100, pid: 42 });
  });

  it('dead-letters a malformed message with the reason, counts it, and keeps the subscription running', async () => {
    await using ctx = await setup();
    const watcher = await ctx.connect('operator');
    const mon = await ctx.connect('monitor');
    const target = await ctx.connect('target');
    const good: number[] = [];
    mon.subscribe('heartbeat.>', HeartbeatData, (env) => void good.push(env.data.seq));
    await mon.flush();
    const dl = nextMessage(watcher, 'deadletter.heartbeat', () => true, 5000, DeadletterData);
    const dl2 = nextMessage(watcher, 'deadletter.heartbeat', (e) => e.data.reason.includes('seq'), 5000, DeadletterData);
    await watcher.flush();
    target.nc.publish('heartbeat.w', 'this is not json');
    const first = await dl;
    expect(first.data.reason).toMatch(/not JSON/);
    expect(first.data.raw).toBe('this is not json');
    expect(first.data.droppedBy).toBe('monitor');
    target.publish('heartbeat.w', 'heartbeat', { seq: -1, intervalMs: 100 });
    expect((await dl2).data.reason).toMatch(/seq/);
    const after = nextMessage(watcher, 'heartbeat.w', (e) => (e.data as { seq: number }).seq === 5);
    await watcher.flush();
    target.publish('heartbeat.w', 'heartbeat', { seq: 5, intervalMs: 100 });
    await after;
    await mon.flush();
    expect(good).toEqual([5]);
    expect(mon.deadletterCount).toBe(2);
  });

  it('answers an action call with the result published on results.<actionId>', async () => {
    await using ctx = await setup();
    const engine = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    handler.subscribe('actions.demo.echo', z.object({ actionId: z.string() }).passthrough(), (env) => {
      handler.publish(subjects.result(env.data.actionId), 'action.result', { actionId: env.data.actionId, action: 'demo.echo', status: 'ok', durationMs: 1, result: { echoed: true } });
    });
    await handler.flush();
    const res = await engine.call('actions.demo.echo', 'a1', { actionId: 'a1' }, z.object({ result: z.record(z.string(), z.unknown()) }).passthrough(), 2000);
    expect(res.data.result).toEqual({ echoed: true });
  });

  it('refuses subject tokens that could inject wildcards or extra tokens', () => {
    expect(() => subjects.heartbeat('a.b')).toThrow(InvalidSubjectTokenError);
    expect(() => subjects.action('process', '>')).toThrow(InvalidSubjectTokenError);
    expect(subjects.action('process', 'restart')).toBe('actions.process.restart');
  });

  it('matches NATS wildcards', () => {
    expect(subjectMatches('events.>', 'events.heartbeat.missed')).toBe(true);
    expect(subjectMatches('events.*.missed', 'events.heartbeat.missed')).toBe(true);
    expect(subjectMatches('events.*', 'events.heartbeat.missed')).toBe(false);
    expect(subjectMatches('events.>', 'events')).toBe(false);
  });
});
