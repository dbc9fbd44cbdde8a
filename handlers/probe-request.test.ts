import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RunPhaseData } from '../bus/index.js';
import { parsePlaybook, PlaybookEngine } from '../playbooks/index.js';
import { nextMessage, setup } from '../test/setup.js';
import { ActionServer, declareAction, defineAction, IdempotencyLedger, servedActions } from './index.js';

const fixSpec = declareAction({ name: 'test.fix', description: 'mutates', params: z.object({ target: z.string() }), risk: 'low', idempotent: false, probe: false });
const lookSpec = declareAction({ name: 'test.look', description: 'reads', params: z.object({ target: z.string() }), risk: 'low', idempotent: true, probe: true });

describe('probes by request/reply', () => {
  it('polls a probe without the durable stream, records the verify step once with its attempts, and lists what is served', async () => {
    await using ctx = await setup();
    const handler = await ctx.connect('handler');
    const engineBus = await ctx.connect('engine');
    const watcher = await ctx.connect('operator', 'watcher');
    const monitor = await ctx.connect('monitor');
    let looks = 0;
    const server = new ActionServer(handler, ctx.log).register(
      defineAction({ ...fixSpec, run: async () => ({ result: { fixed: true } }) }),
      defineAction({ ...lookSpec, run: async () => ({ result: { ok: ++looks >= 5, looks } }) }),
    );
    await server.startDurable(await IdempotencyLedger.open(handler, ctx.log));
    ctx.defer(() => server.stop());
    await handler.flush();

    expect(await servedActions(engineBus, { stallMs: 100 })).toEqual({ actions: ['test.fix', 'test.look'], components: ['handler'] });

    const pb = parsePlaybook('probe.yaml', `name: probe
on: { event: events.test.probe }
steps:
  - id: fix
    action: test.fix
    with: { target: "{{ event.target }}" }
  - id: verify
    verify: { probe: test.look, with: { target: "{{ event.target }}" }, expect: result.ok, within: 5s, interval: 10ms, backoff: 1 }
  - id: missing
    verify: { probe: test.gone, expect: result.ok, within: 200ms }
`, { actions: [fixSpec, lookSpec, { name: 'test.gone', probe: true }] });
    const engine = new PlaybookEngine({ bus: engineBus, playbooks: [pb], log: ctx.log });
    engine.start();
    await engineBus.flush();
    const steps: RunPhaseData[] = [];
    watcher.subscribe('runs.*.step', RunPhaseData, (env) => void steps.push(env.data));
    const ended = nextMessage(watcher, 'runs.*.failed', () => true, 10_000, RunPhaseData);
    await watcher.flush();
    monitor.publish('events.test.probe', 'test.probe', {}, { target: 't1' });
    expect((await ended).data.reason).toMatch(/step "missing" failed: not verified within 200 ms: no running handler serves test\.gone/);

    // one step record for five polls, with the attempts and the last result
    expect(steps.map((s) => [s.step, s.status, s.detail?.attempts])).toEqual([['fix', 'ok', 1], ['verify', 'ok', 5], ['missing', 'failed', expect.any(Number)]]);
    expect(steps[1]!.detail?.result).toEqual({ ok: true, looks: 5 });
    // the stream stored the mutating request only
    const jsm = await jetstreamManager(handler.nc);
    expect((await jsm.streams.info('HOMEOSTAT_ACTIONS')).state.messages).toBe(1);
  });
});
