import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeadletterData, DURABLE_STREAMS, DurableConsumer, ensureStream, newId, publishDurable, type BusClient } from './index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';

const Missed = z.object({ target: z.string(), n: z.number().optional() });

async function consumerState(bus: BusClient, stream: string, durable: string) {
  const info = await (await jetstreamManager(bus.nc)).consumers.info(stream, durable);
  return { pending: info.num_pending, ackPending: info.num_ack_pending, delivered: info.delivered.stream_seq };
}

async function eventsBus(ctx: TestContext) {
  const engine = await ctx.connect('engine');
  const monitor = await ctx.connect('monitor');
  const operator = await ctx.connect('operator');
  await ensureStream(engine, DURABLE_STREAMS.events);
  return { engine, monitor, operator };
}

describe('durable bus (JetStream)', () => {
  it('stores a message id once: a republished event is delivered once', async () => {
    await using ctx = await setup();
    const { engine, monitor } = await eventsBus(ctx);
    const got: string[] = [];
    const consumer = await DurableConsumer.start(engine, {
      stream: 'HOMEOSTAT_EVENTS', durable: `engine-${newId().slice(0, 6)}`, schema: Missed,
      handler: async (env) => void got.push(env.id),
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    const id = newId();
    const first = await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1' }, { id, target: 'w1' });
    const again = await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1' }, { id, target: 'w1' });
    const other = await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w2' });
    expect([first.duplicate, again.duplicate, other.duplicate]).toEqual([false, true, false]);
    expect(again.seq).toBe(first.seq);
    await expect.poll(() => consumer.stats.acked, { timeout: 5000 }).toBe(2);
    expect(got).toEqual([id, other.envelope.id]);
  });

  it('redelivers after a failure (explicit acks) and acks once the handler succeeds', async () => {
    await using ctx = await setup();
    const { engine, monitor } = await eventsBus(ctx);
    const deliveries: number[] = [];
    const durable = `engine-${newId().slice(0, 6)}`;
    const consumer = await DurableConsumer.start(engine, {
      stream: 'HOMEOSTAT_EVENTS', durable, schema: Missed, maxDeliver: 5, retryDelaysMs: [20],
      handler: async (_env, info) => {
        deliveries.push(info.deliveryCount);
        if (info.deliveryCount < 3) throw new Error(`flaky ${info.deliveryCount}`);
      },
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1' });
    await expect.poll(() => consumer.stats.acked, { timeout: 5000 }).toBe(1);
    expect(deliveries).toEqual([1, 2, 3]);
    expect(consumer.stats.retried).toBe(2);
    expect(await consumerState(engine, 'HOMEOSTAT_EVENTS', durable)).toMatchObject({ pending: 0, ackPending: 0 });
  });

  it('dead-letters a message that exhausts its deliveries, with the reason, and delivers it no more', async () => {
    await using ctx = await setup();
    const { engine, monitor, operator } = await eventsBus(ctx);
    let calls = 0;
    const durable = `engine-${newId().slice(0, 6)}`;
    const dead = nextMessage(operator, 'deadletter.events', () => true, 10_000, DeadletterData);
    await operator.flush();
    const consumer = await DurableConsumer.start(engine, {
      stream: 'HOMEOSTAT_EVENTS', durable, schema: Missed, maxDeliver: 3, retryDelaysMs: [10],
      handler: async () => {
        calls++;
        throw new Error('boom');
      },
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    const pub = await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1' });
    const d = await dead;
    expect(d.data.reason).toBe('exhausted 3 deliveries; last error: boom');
    expect(d.data).toMatchObject({ subject: 'events.heartbeat.missed', droppedBy: 'engine' });
    expect((JSON.parse(d.data.raw) as { id: string }).id).toBe(pub.envelope.id);
    await expect.poll(() => consumerState(engine, 'HOMEOSTAT_EVENTS', durable), { timeout: 5000 }).toMatchObject({ pending: 0, ackPending: 0 });
    expect(calls).toBe(3);
  });

  it('dead-letters a malformed message at once, without redelivery', async () => {
    await using ctx = await setup();
    const { engine, monitor, operator } = await eventsBus(ctx);
    let calls = 0;
    const dead = nextMessage(operator, 'deadletter.events', () => true, 10_000, DeadletterData);
    await operator.flush();
    const consumer = await DurableConsumer.start(engine, {
      stream: 'HOMEOSTAT_EVENTS', durable: `engine-${newId().slice(0, 6)}`, schema: Missed,
      handler: async () => void calls++,
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 42 });
    expect((await dead).data.reason).toMatch(/invalid data for events.heartbeat.missed: target/);
    expect(consumer.stats).toMatchObject({ deadlettered: 1, acked: 0, retried: 0 });
    expect(calls).toBe(0);
  });

  it('redelivers what was never acknowledged, and dead-letters it when the deliveries run out', async () => {
    await using ctx = await setup();
    const { engine, monitor, operator } = await eventsBus(ctx);
    const hung: (() => void)[] = [];
    const dead = nextMessage(operator, 'deadletter.events', () => true, 15_000, DeadletterData);
    await operator.flush();
    const consumer = await DurableConsumer.start(engine, {
      stream: 'HOMEOSTAT_EVENTS', durable: `engine-${newId().slice(0, 6)}`, schema: Missed, maxDeliver: 2, ackWaitMs: 300,
      handler: () => new Promise<void>((resolve) => hung.push(resolve)),
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    ctx.defer(() => hung.forEach((f) => f()));
    await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1' });
    const d = await dead;
    expect(d.data.reason).toBe('exhausted 2 deliveries: not acknowledged within 300 ms (handler hung or its process died)');
    expect(hung).toHaveLength(2);
  });

  it('remembers acknowledgements across consumer restarts: a new instance of the durable gets only what is new', async () => {
    await using ctx = await setup();
    const { engine, monitor } = await eventsBus(ctx);
    const durable = `engine-${newId().slice(0, 6)}`;
    const seen: number[] = [];
    const start = () =>
      DurableConsumer.start(
        engine,
        // A message the server handed to the stopped instance's last pull is redelivered after ackWait.
        { stream: 'HOMEOSTAT_EVENTS', durable, schema: Missed, ackWaitMs: 1000, handler: async (env) => void seen.push(env.data.n ?? -1) },
        ctx.log,
      );
    const a = await start();
    await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1', n: 1 });
    await expect.poll(() => a.stats.acked, { timeout: 5000 }).toBe(1);
    await a.stop();
    await publishDurable(monitor, 'events.heartbeat.missed', 'heartbeat.missed', { target: 'w1', n: 2 });
    const b = await start();
    ctx.defer(() => b.stop());
    await expect.poll(() => b.stats.acked, { timeout: 5000 }).toBe(1);
    expect(seen).toEqual([1, 2]);
  });

  it('carries action requests durably to handlers (the handler role owns HOMEOSTAT_ACTIONS)', async () => {
    await using ctx = await setup();
    const handler = await ctx.connect('handler');
    const engine = await ctx.connect('engine');
    await ensureStream(handler, DURABLE_STREAMS.actions);
    const got: string[] = [];
    const consumer = await DurableConsumer.start(handler, {
      stream: 'HOMEOSTAT_ACTIONS', durable: 'handlers', schema: z.object({ actionId: z.string() }).passthrough(),
      handler: async (env) => void got.push(env.data.actionId),
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    const actionId = newId();
    await publishDurable(engine, 'actions.process.restart', 'action.request', { actionId, action: 'process.restart', params: {} }, { id: actionId });
    await publishDurable(engine, 'actions.process.restart', 'action.request', { actionId, action: 'process.restart', params: {} }, { id: actionId });
    await expect.poll(() => got, { timeout: 5000 }).toEqual([actionId]);
  });
});
