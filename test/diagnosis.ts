import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { makeEnvelope } from '../bus/index.js';
import { LlmDiagnoser, ScriptedProvider, type DiagnosisConfig, type ProviderConfig, type ScriptedReply, type RecordedRequest } from '../diagnosis/index.js';
import type { DiagnosisRequest } from '../playbooks/index.js';

/** A provider entry for the scripted server, with short timings for tests. */
export function providerAt(name: string, baseUrl: string, over: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name, baseUrl, model: `${name}-model`, apiKey: `sk-test-${name}-KEY-0123456789abcdef`, timeoutMs: 1000, retries: 2, backoffMs: 20, maxRetryAfterMs: 2000,
    price: { inputPer1m: 1, outputPer1m: 2 }, responseFormat: 'json_schema', ...over,
  };
}

export function diagnosisConfig(providers: ProviderConfig[], budget = { calls: 20, tokens: 1_000_000 }): DiagnosisConfig {
  return { providers, budget, maxAnswerTokens: 400 };
}

/** A logger whose every line is kept (to check what was logged). */
export function capturedLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export const CANDIDATES = [
  { name: 'heartbeat-restart', description: 'Restart a target that stopped heartbeating.', risk: 'low' as const },
  { name: 'redis-oom', description: 'Flush Redis when used memory reaches maxmemory.', risk: 'high' as const },
];

export function request(over: Partial<DiagnosisRequest> = {}): DiagnosisRequest {
  const ev = makeEnvelope('heartbeat.missed', 'monitor', { missedFor: 3000, lastSeen: '2026-01-01T00:00:00Z' }, { subject: 'events.heartbeat.missed', target: 'worker-1' });
  return {
    incidentKey: `inc-${Math.random().toString(36).slice(2)}`, signature: 'events.heartbeat.missed', target: 'worker-1', events: [ev], metrics: { missedFor: 3000 },
    logs: [{ name: 'worker-1', text: 'tick\ntick\n(no output since)' }], runbook: [], candidates: CANDIDATES, ...over,
  };
}

export const answer = (playbook: string | null, confidence = 0.9): ScriptedReply => ({
  content: JSON.stringify({ root_cause: 'the worker froze', confidence, playbook, justification: 'heartbeats stopped while the process lives' }),
});

export { LlmDiagnoser, ScriptedProvider, type RecordedRequest };
