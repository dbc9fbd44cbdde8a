import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { SpanStatusCode } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { inSpan, SpanKind } from '../bus/index.js';
import { startTracing } from '../telemetry/index.js';
import { answer, diagnosisConfig, LlmDiagnoser, providerAt, request, ScriptedProvider } from '../test/diagnosis.js';

const exporter = new InMemorySpanExporter();
const tracing = startTracing({ serviceName: 'diagnosis-trace-test', exporter, log: pino({ level: 'silent' }) })!;
afterAll(() => tracing.shutdown());

describe('LLM calls in the incident trace', () => {
  it('a diagnose span under the step that asked, with one CLIENT chat span per provider call: the failed primary marked, the fallback with its tokens', async () => {
    const broken = await ScriptedProvider.start(() => ({ status: 400 }));
    const good = await ScriptedProvider.start(() => answer('heartbeat-restart', 0.9));
    try {
      const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', broken.baseUrl), providerAt('local', good.baseUrl)]), pino({ level: 'silent' }));
      const stepTrace = await inSpan('step triage', {}, async (span) => {
        const r = await d.diagnose(request());
        expect(r.answer?.playbook).toBe('heartbeat-restart');
        return span.spanContext();
      });
      const spans = exporter.getFinishedSpans();
      const diagnose = spans.find((s) => s.name === 'diagnose')!;
      expect(diagnose.spanContext().traceId).toBe(stepTrace.traceId);
      expect(diagnose.parentSpanContext?.spanId).toBe(stepTrace.spanId);
      expect(diagnose.attributes).toMatchObject({ 'homeostat.diagnosis.calls': 2, 'homeostat.diagnosis.playbook': 'heartbeat-restart', 'homeostat.diagnosis.provider': 'local' });
      const chats = spans.filter((s) => s.name.startsWith('chat ') && s.parentSpanContext?.spanId === diagnose.spanContext().spanId);
      expect(chats.map((s) => [s.attributes['homeostat.provider'], s.kind, s.status.code])).toEqual([
        ['primary', SpanKind.CLIENT, SpanStatusCode.ERROR],
        ['local', SpanKind.CLIENT, SpanStatusCode.UNSET],
      ]);
      expect(chats[1]!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'local-model' });
      expect(chats[1]!.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      // no key in any span attribute or status
      expect(JSON.stringify(spans.map((s) => [s.attributes, s.status]))).not.toMatch(/sk-test/);
    } finally {
      await broken.close();
      await good.close();
    }
  });
});
