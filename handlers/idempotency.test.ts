import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ActionResultData, newId, publishDurable, subjects, type BusClient } from '../bus/index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';
import { ActionServer, defineAction, IdempotencyLedger } from './index.js';

/** A durable action server with one counting action `test.count` that takes `ms` to run. */
async function countingServer(ctx: TestContext) {
  const bus = await ctx.connect('handler');
  const runs: string[] = [];
  let release: (() => void) | null = null;
  const count = defineAction({
    name: 'test.count',
    description: 'counts its executions',
    params: z.object({ label: z.string(), hold: z.boolean().default(false) }),
    risk: 'low',
    idempotent: false,
    probe: false,
    async run(p) {
      runs.push(p.label);
      if (p.hold) await new Promise<void>((r) => (release = r));
      return { result: { n: runs.length } };
    },
  });
  const server = new ActionServer(bus, ctx.log).register(count);
  await server.startDurable(await IdempotencyLedger.open(bus, ctx.log));
  ctx.defer(() => server.stop());
  return { runs, release: () => release?.() };
}

async function request(engine: BusClient, observer: BusClient, params: Record<string, unknown>, key?: string, sentAgoMs = 0) {
  const actionId = newId();
  const result = nextMessage(observer, subjects.result(actionId), () => true, 10_000, ActionResultData);
  await observer.flush();
  const data = { actionId, action: 'test.count', params, timeoutMs: 5000, ...(key ? { idempotencyKey: key } : {}) };
  if (sentAgoMs) {
    // a request whose sender stopped waiting long ago (as one redelivered after its handler died)
    const env = { id: newId(), type: 'action.request', source: 'engine', time: new Date(Date.now() - sentAgoMs).toISOString(), subject: 'actions.test.count', data };
    engine.nc.publish('actions.test.count', JSON.stringify(env));
  } else {
    await publishDurable(engine, 'actions.test.count', 'action.request', data, { id: actionId });
  }
  return (await result).data;
}

describe('idempotency keys (handlers on the durable bus)', () => {
  it('executes a key once: the same key again is answered from the record, marked replayed', async () => {
    await using ctx = await setup();
    const { runs } = await countingServer(ctx);
    const engine = await ctx.connect('engine');
    const operator = await ctx.connect('operator');
    const first = await request(engine, operator, { label: 'a' }, 'run1.main.fix.1');
    const again = await request(engine, operator, { label: 'a' }, 'run1.main.fix.1');
    const retry = await request(engine, operator, { label: 'a' }, 'run1.main.fix.2');
    expect(runs).toEqual(['a', 'a']);
    expect(first).toMatchObject({ status: 'ok', result: { n: 1 } });
    expect(first.replayed).toBeUndefined();
    expect(again).toMatchObject({ status: 'ok', result: { n: 1 }, replayed: true });
    expect(retry).toMatchObject({ status: 'ok', result: { n: 2 } });
  });

  it('a key sent again while it is still executing waits for that execution instead of acting again', async () => {
    await using ctx = await setup();
    const server = await countingServer(ctx);
    const engine = await ctx.connect('engine');
    const operator = await ctx.connect('operator');
    const first = request(engine, operator, { label: 'slow', hold: true }, 'run2.main.fix.1');
    await expect.poll(() => server.runs.length).toBe(1);
    ctx.defer(() => server.release());
    const second = request(engine, operator, { label: 'slow', hold: true }, 'run2.main.fix.1');
    // both requests delivered to the handler and not yet acknowledged: the second waits on the first
    const jsm = await jetstreamManager((await ctx.connect('handler')).nc);
    await expect.poll(async () => (await jsm.consumers.info('HOMEOSTAT_ACTIONS', 'handlers')).num_ack_pending, { timeout: 5000 }).toBe(2);
    server.release();
    const [a, b] = await Promise.all([first, second]);
    expect(server.runs).toEqual(['slow']);
    expect(a.replayed).toBeUndefined();
    expect(b).toMatchObject({ status: 'ok', replayed: true, result: a.result });
  });

  it('answers an expired request HANDLER_EXPIRED without executing it', async () => {
    await using ctx = await setup();
    const { runs } = await countingServer(ctx);
    const engine = await ctx.connect('engine');
    const operator = await ctx.connect('operator');
    const r = await request(engine, operator, { label: 'late' }, 'run3.main.fix.1', 60_000);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'HANDLER_EXPIRED' } });
    expect(runs).toEqual([]);
  });
});
