import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ActionRequestData, inSpan, makeEnvelope, newId, SpanKind, subjects } from '../bus/index.js';
import { startTracing } from '../telemetry/index.js';
import { playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';
import { PlaybookEngine, RunJournal, type RunRecord } from './index.js';

const exporter = new InMemorySpanExporter();
const tracing = startTracing({ serviceName: 'journal-trace-test', exporter, log: pino({ level: 'silent' }) })!;
afterAll(() => tracing.shutdown());

const PLAYBOOK = `
name: resumable
on: { event: events.test.fault }
steps:
  - id: one
    action: test.fix
    with: { n: 1 }
`;

describe('a resumed run in the trace', () => {
  it('keeps the trace context in the journal: the run a new engine resumes is a child of the original detection, in the same trace', async () => {
    await using ctx = await setup();
    const dead = await ctx.connect('engine', 'engine-dead');
    const old = await RunJournal.open(dead, ctx.log);
    const event = makeEnvelope('test.fault', 'monitor', { why: 'x' }, { subject: 'events.test.fault', target: 'w1' });
    const run: RunRecord = { runId: newId(), playbook: 'resumable', target: 'w1', eventId: event.id, status: 'running', startedAt: Date.now(), steps: [], attached: 0 };
    // the first engine journaled the run while handling the detection, then died
    const detection = await inSpan('events.test.fault publish', { kind: SpanKind.PRODUCER }, async (span) => {
      await old.begin(run, event);
      return span.spanContext();
    });
    expect((await old.entries())[0]!.trace?.traceparent).toContain(detection.traceId);

    const handler = await ctx.connect('handler');
    handler.subscribe('actions.>', ActionRequestData, (env) => {
      handler.publish(subjects.result(env.data.actionId), 'action.result', { actionId: env.data.actionId, action: env.data.action, status: 'ok', durationMs: 1, result: {} });
    });
    await handler.flush();
    const bus = await ctx.connect('engine');
    const journal = await RunJournal.open(bus, ctx.log);
    const engine = new PlaybookEngine({ bus, playbooks: playbooks(PLAYBOOK), log: ctx.log, journal });
    await engine.startDurable();
    ctx.defer(() => engine.stop());
    await engine.whenIdle();

    const resumed = exporter.getFinishedSpans().find((s) => s.name === 'run resumable')!;
    expect(resumed.attributes['homeostat.resumed']).toBe(true);
    expect(resumed.spanContext().traceId).toBe(detection.traceId);
    expect(resumed.parentSpanContext?.spanId).toBe(detection.spanId);
    expect(engine.runs.find((r) => r.runId === run.runId)).toMatchObject({ status: 'resolved', traceId: detection.traceId });
  });
});
