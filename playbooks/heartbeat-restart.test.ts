import { join } from 'node:path';
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionRequestData, DeadletterData, RunPhaseData, subjects, type BusClient, type Envelope } from '../bus/index.js';
import { ACTION_REGISTRY } from '../handlers/index.js';
import { loadPlaybookDir, PlaybookEngine } from './index.js';
import { nextMessage, setup } from '../test/setup.js';

/** A stand-in remediator registered by the test: records requests and answers as told. */
function remediator(bus: BusClient, answer: (req: ActionRequestData) => { status: 'ok' | 'failed'; result?: Record<string, unknown> }) {
  const seen: ActionRequestData[] = [];
  const serve = (env: Envelope<ActionRequestData>, msg: Msg) => {
    seen.push(env.data);
    const a = answer(env.data);
    const res = { actionId: env.data.actionId, action: env.data.action, durationMs: 1, result: a.result ?? {}, status: a.status };
    // target.health is a probe: asked by request/reply; process.restart through results.<actionId>
    if (!bus.respond(msg, 'action.result', res)) bus.publish(subjects.result(env.data.actionId), 'action.result', res);
  };
  bus.subscribe(subjects.actionsDurable, ActionRequestData, serve);
  bus.subscribe('actions.*.*.probe', ActionRequestData, serve);
  return seen;
}

const missed = (target: string) => ({ target, lastSeen: null, missedIntervals: 3, intervalMs: 100 });

describe('playbook engine (heartbeat-restart)', () => {
  it('runs restart then verify for a missed heartbeat and resolves; a second event during the run is attached', async () => {
    await using ctx = await setup();
    const engineBus = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    const monitor = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator', 'watcher');
    let probes = 0;
    const seen = remediator(handler, (req) =>
      req.action === 'target.health' ? { status: 'ok', result: { healthy: ++probes >= 3 } } : { status: 'ok', result: { pid: 1234 } },
    );
    await handler.flush();
    const engine = new PlaybookEngine({ bus: engineBus, playbooks: loadPlaybookDir(join(import.meta.dirname, 'library'), { actions: ACTION_REGISTRY }), log: ctx.log });
    engine.start();
    await engineBus.flush();

    const started = nextMessage(watcher, 'runs.*.started', () => true, 5000, RunPhaseData);
    const resolved = nextMessage(watcher, 'runs.*.resolved', () => true, 10_000, RunPhaseData);
    await watcher.flush();
    const data = { target: 'w1', lastSeen: null, missedIntervals: 3, intervalMs: 100 };
    monitor.publishEvent('heartbeat', 'missed', data, { target: 'w1' });
    const s = await started;
    expect(s.data).toMatchObject({ playbook: 'heartbeat-restart', target: 'w1' });
    monitor.publishEvent('heartbeat', 'missed', data, { target: 'w1' });
    const r = await resolved;
    expect(r.data.runId).toBe(s.data.runId);

    expect(seen[0]).toMatchObject({ action: 'process.restart', target: 'w1', params: { target: 'w1' }, runId: s.data.runId });
    expect(seen.slice(1).every((x) => x.action === 'target.health')).toBe(true);
    expect(probes).toBe(3);
    expect(engine.runs).toHaveLength(1);
    expect(engine.runs[0]).toMatchObject({ status: 'resolved', attached: 1 });
  });

  it('fails the run with the handler error when the action fails, and keeps running for the next event', async () => {
    await using ctx = await setup();
    const engineBus = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    const monitor = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator', 'watcher');
    remediator(handler, (req) => (req.target === 'bad' ? { status: 'failed' } : req.action === 'target.health' ? { status: 'ok', result: { healthy: true } } : { status: 'ok' }));
    await handler.flush();
    const engine = new PlaybookEngine({ bus: engineBus, playbooks: loadPlaybookDir(join(import.meta.dirname, 'library'), { actions: ACTION_REGISTRY }), log: ctx.log });
    engine.start();
    await engineBus.flush();
    const failed = nextMessage(watcher, 'runs.*.failed', () => true, 5000, RunPhaseData);
    await watcher.flush();
    monitor.publishEvent('heartbeat', 'missed', missed('bad'), { target: 'bad' });
    expect((await failed).data.reason).toMatch(/step "restart" failed/);
    const ok = nextMessage(watcher, 'runs.*.resolved', () => true, 5000, RunPhaseData);
    await watcher.flush();
    monitor.publishEvent('heartbeat', 'missed', missed('good'), { target: 'good' });
    expect((await ok).data.target).toBe('good');
    expect(z.array(z.unknown()).parse(engine.runs)).toHaveLength(2);
  });

  it('dead-letters an events.heartbeat.missed whose data breaks its schema, with the reason, and starts no run', async () => {
    await using ctx = await setup();
    const engineBus = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    const monitor = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator', 'watcher');
    const seen = remediator(handler, () => ({ status: 'ok', result: { healthy: true } }));
    await handler.flush();
    const engine = new PlaybookEngine({ bus: engineBus, playbooks: loadPlaybookDir(join(import.meta.dirname, 'library'), { actions: ACTION_REGISTRY }), log: ctx.log });
    engine.start();
    await engineBus.flush();
    const dead = nextMessage(watcher, 'deadletter.events', () => true, 5000, DeadletterData);
    const resolved = nextMessage(watcher, 'runs.*.resolved', () => true, 5000, RunPhaseData);
    await watcher.flush();
    // what the test above published before the events were validated: a target and nothing else
    monitor.publish(subjects.event('heartbeat', 'missed'), 'heartbeat.missed', { target: 'bad' }, { target: 'bad' });
    const d = await dead;
    expect(d.data).toMatchObject({ subject: 'events.heartbeat.missed', droppedBy: 'engine' });
    expect(d.data.reason).toMatch(/^invalid data for events\.heartbeat\.missed: lastSeen: .*missedIntervals: .*intervalMs: /);
    // a valid event after it is matched: the invalid one started nothing before it
    monitor.publishEvent('heartbeat', 'missed', missed('good'), { target: 'good' });
    expect((await resolved).data.target).toBe('good');
    expect(engine.runs.map((r) => r.target)).toEqual(['good']);
    expect(seen.every((r) => r.target === 'good')).toBe(true);
    expect(engine.stats).toMatchObject({ invalid: 1, started: 1 });
    // a monitor's publishEvent refuses such data itself (dead-lettered there, not published)
    expect(monitor.publishEvent('heartbeat', 'missed', { target: 'x' } as never)).toBeNull();
  });
});
