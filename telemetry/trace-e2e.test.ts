import { describe, expect, it } from 'vitest';
import { DrillObserver, DrillWebhook, spawnComponent, writeDrillPlaybooks } from '../bench/crash-drill.js';
import { OtlpReceiver } from '../test/otlp-receiver.js';
import { setup } from '../test/setup.js';
import { startTracing } from './index.js';

describe('one trace from fault to recovery (engine and handler as separate processes, OTLP/HTTP)', () => {
  it('the detection, the run, its steps and the handler\'s actions form one trace with the right parents', async () => {
    await using ctx = await setup();
    const receiver = await OtlpReceiver.start();
    ctx.defer(() => receiver.close());
    const tracing = startTracing({ endpoint: receiver.url, serviceName: 'trace-test-monitor', log: ctx.log })!;
    ctx.defer(() => tracing.shutdown());
    const webhook = await DrillWebhook.start();
    webhook.delayMs = 10;
    ctx.defer(() => webhook.close());
    const operator = await ctx.connect('operator');
    const observer = new DrillObserver(operator);
    const monitor = await ctx.connect('monitor');
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const handler = spawnComponent(ctx.settings, 'handler', ctx.nats.credentials('handler'), [], { ...env, HOMEOSTAT_WEBHOOK_URL: webhook.url });
    ctx.defer(() => handler.kill('SIGTERM'));
    await handler.ready(observer, 30_000);
    const engine = spawnComponent(ctx.settings, 'engine', ctx.nats.credentials('engine'), ['--playbooks', writeDrillPlaybooks(ctx.dir)], env);
    ctx.defer(() => engine.kill('SIGTERM'));
    await engine.ready(observer, 30_000);

    // the monitor's detection: an event published outside any span, through the durable outbox
    monitor.useDurableEvents();
    const event = monitor.publish('events.drill.fault', 'drill.fault', { n: 1 }, { target: 'drill-1' });
    await observer.until(() => observer.ends(event.id).length > 0, 30_000, 'the run to end');
    expect(observer.ends(event.id)[0]!.phase).toBe('resolved');

    await tracing.flush();
    // the components export in batches (500 ms); SIGTERM flushes what is left
    await Promise.all([engine.kill('SIGTERM'), handler.kill('SIGTERM')]);
    await expect.poll(() => receiver.spans.filter((s) => s.name === 'action notify.send').length, { timeout: 10_000 }).toBe(2);

    const detection = receiver.spans.find((s) => s.name === 'events.drill.fault publish')!;
    expect(detection).toMatchObject({ service: 'trace-test-monitor', parentSpanId: '', kind: 4 /* PRODUCER */ });
    const trace = receiver.spans.filter((s) => s.traceId === detection.traceId);
    const run = trace.find((s) => s.name === 'run crash-drill')!;
    expect(run).toMatchObject({ service: 'homeostat-engine', parentSpanId: detection.spanId, kind: 5 /* CONSUMER */ });
    expect(run.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'events.drill.fault', 'messaging.message.id': event.id, 'homeostat.run.outcome': 'resolved' });
    const steps = trace.filter((s) => s.name.startsWith('step '));
    expect(steps.map((s) => s.name).sort()).toEqual(['step first', 'step second']);
    for (const s of steps) expect(s.parentSpanId).toBe(run.spanId);
    const actions = trace.filter((s) => s.name === 'action notify.send');
    expect(actions).toHaveLength(2);
    for (const a of actions) {
      expect(a.service).toBe('homeostat-handler');
      expect(steps.map((s) => s.spanId)).toContain(a.parentSpanId);
      expect(a.attributes).toMatchObject({ 'messaging.destination.name': 'actions.notify.send', 'homeostat.action.status': 'ok' });
    }
    // one incident, one trace: every span of the run is in the detection's trace, and runs.* carry its id
    const runId = run.attributes['homeostat.run.id'] as string;
    expect(new Set(receiver.spans.filter((s) => s.attributes['homeostat.run.id'] === runId).map((s) => s.traceId))).toEqual(new Set([detection.traceId]));
    expect(observer.phases.filter((p) => p.runId === runId).every((p) => (p.data as { traceId?: string }).traceId === detection.traceId)).toBe(true);
  });
});
