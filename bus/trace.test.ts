import { headers } from '@nats-io/transport-node';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import pino from 'pino';
import { activeTraceId, DURABLE_STREAMS, DurableConsumer, ensureStream, inSpan, makeEnvelope, newId, publishDurable, SpanKind, ActionResultData } from './index.js';
import { startTracing } from '../telemetry/index.js';
import { setup } from '../test/setup.js';

const exporter = new InMemorySpanExporter();
const tracing = startTracing({ serviceName: 'bus-trace-test', exporter, log: pino({ level: 'silent' }) })!;
afterAll(() => tracing.shutdown());

const spansNamed = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('trace context on the bus', () => {
  it('core publish: the subscriber runs in the publisher span\'s trace', async () => {
    await using ctx = await setup();
    const monitor = await ctx.connect('monitor');
    const engine = await ctx.connect('engine');
    const seen: (string | undefined)[] = [];
    engine.subscribe('events.tracetest.>', z.unknown(), () => void seen.push(activeTraceId()));
    await engine.flush();
    const sent = await inSpan('detect', { kind: SpanKind.PRODUCER }, async (span) => {
      monitor.publish('events.tracetest.core', 'tracetest.core', { n: 1 });
      return span.spanContext().traceId;
    });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
    expect(seen[0]).toBe(sent);
  });

  it('an event published outside any span starts a trace with a PRODUCER detection span, carried to the subscriber', async () => {
    await using ctx = await setup();
    const monitor = await ctx.connect('monitor');
    const engine = await ctx.connect('engine');
    const seen: (string | undefined)[] = [];
    engine.subscribe('events.tracetest.>', z.unknown(), () => void seen.push(activeTraceId()));
    await engine.flush();
    const env = monitor.publish('events.tracetest.root', 'tracetest.root', { n: 2 }, { target: 'w1' });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
    const detection = spansNamed('events.tracetest.root publish');
    expect(detection).toHaveLength(1);
    expect(detection[0]!.kind).toBe(SpanKind.PRODUCER);
    expect(detection[0]!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'events.tracetest.root', 'messaging.message.id': env.id, 'homeostat.target': 'w1' });
    expect(seen[0]).toBe(detection[0]!.spanContext().traceId);
  });

  it('request/reply: the responder runs in the requester\'s trace and its own spans are children', async () => {
    await using ctx = await setup();
    const engine = await ctx.connect('engine');
    const handler = await ctx.connect('handler');
    handler.subscribe('actions.tracetest.ping.probe', z.unknown(), (_env, msg) =>
      inSpan('answer', {}, async () => void handler.respond(msg, 'action.result', { actionId: 'a', action: 'tracetest.ping', status: 'ok', durationMs: 0 })),
    );
    await handler.flush();
    const requestSpan = await inSpan('ask', {}, async (span) => {
      await engine.request('actions.tracetest.ping.probe', 'action.request', {}, ActionResultData, 5000);
      return span.spanContext();
    });
    const answer = spansNamed('answer')[0]!;
    expect(answer.spanContext().traceId).toBe(requestSpan.traceId);
    expect(answer.parentSpanContext?.spanId).toBe(requestSpan.spanId);
  });

  it('JetStream: the trace header survives the stream and reaches the durable consumer', async () => {
    await using ctx = await setup();
    const engine = await ctx.connect('engine');
    const monitor = await ctx.connect('monitor');
    await ensureStream(engine, DURABLE_STREAMS.events);
    const seen: (string | undefined)[] = [];
    const consumer = await DurableConsumer.start(engine, {
      stream: DURABLE_STREAMS.events.name, durable: `trace-${newId().slice(0, 6)}`, schema: z.unknown(),
      handler: async () => void seen.push(activeTraceId()),
    }, ctx.log);
    ctx.defer(() => consumer.stop());
    const viaOutbox = monitor.useDurableEvents();
    const traces = await inSpan('detect', {}, async (span) => {
      await publishDurable(monitor, 'events.tracetest.durable', 'tracetest.durable', { n: 3 });
      monitor.publish('events.tracetest.outbox', 'tracetest.outbox', { n: 4 });
      return span.spanContext().traceId;
    });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    expect(viaOutbox.stats.stored).toBe(1);
    expect(seen).toEqual([traces, traces]);
  });

  it('a malformed traceparent is ignored: the handler runs, in no trace, and its span is a new root', async () => {
    await using ctx = await setup();
    const monitor = await ctx.connect('monitor');
    const engine = await ctx.connect('engine');
    const seen: { trace: string | undefined }[] = [];
    engine.subscribe('events.tracetest.>', z.unknown(), () => inSpan('handled', {}, async () => void seen.push({ trace: activeTraceId() })));
    await engine.flush();
    const h = headers();
    h.set('traceparent', '00-not-a-trace-01');
    monitor.nc.publish('events.tracetest.bad', JSON.stringify(makeEnvelope('tracetest.bad', 'monitor', { n: 5 })), { headers: h });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);
    const handled = spansNamed('handled').at(-1)!;
    expect(handled.parentSpanContext).toBeUndefined();
    expect(seen[0]!.trace).toBe(handled.spanContext().traceId);
    expect(engine.deadletterCount).toBe(0);
  });
});
