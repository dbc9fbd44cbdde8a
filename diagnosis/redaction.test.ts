import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { makeEnvelope } from '../bus/index.js';
import { redactText } from './index.js';
import { buildMessages } from './prompt.js';
import { answer, diagnosisConfig, LlmDiagnoser, providerAt, request, ScriptedProvider } from '../test/diagnosis.js';

const corpus = parse(readFileSync(join(import.meta.dirname, 'corpus', 'secrets.yaml'), 'utf8')) as { text: string; secrets: string[] }[];

describe('redaction', () => {
  it.each(corpus.map((c) => [c.text.slice(0, 50), c] as const))('removes every secret of "%s"', (_t, c) => {
    const out = redactText(c.text);
    for (const s of c.secrets) expect(out).not.toContain(s);
    expect(out).toContain('[REDACTED:');
  });

  it('leaves ordinary log text alone', () => {
    const text = 'worker-1 tick 42 at 12:30:45, version 1.2.3, exit code 137 (OOMKilled); the password is not set; token expired';
    expect(redactText(text)).toBe(text);
  });

  it("keeps the incident's signature (the event subject) in the prompt: a key named signature is not a secret there", () => {
    const incident = buildMessages(request({ signature: 'events.heartbeat.missed' }))[1]!.content;
    expect(incident).toContain('"signature": "events.heartbeat.missed"');
    expect(incident).not.toContain('"signature": "[REDACTED');
  });

  it('no secret of the corpus reaches the provider: in logs, event data, alert annotations and metrics', async () => {
    const s = await ScriptedProvider.start(() => answer('heartbeat-restart'));
    try {
      const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', s.baseUrl)]), pino({ level: 'silent' }));
      for (const c of corpus) {
        const ev = makeEnvelope('alert.firing', 'intake', { annotations: { description: c.text }, labels: { instance: c.text }, dsn: c.text }, { subject: 'events.alert.HighErrorRate', target: 'api' });
        const r = await d.diagnose(request({ events: [ev], logs: [{ name: 'api', text: `line before\n${c.text}\nline after` }], metrics: { note: c.text } }));
        expect(r.answer).not.toBeNull();
      }
      expect(s.requests).toHaveLength(corpus.length);
      const bodies = s.requests.map((r) => r.body).join('\n');
      for (const c of corpus) for (const secret of c.secrets) expect(bodies).not.toContain(secret);
      // JSON escaping must not hide a leak: check the decoded messages too
      const decoded = s.requests.flatMap((r) => r.json?.messages?.map((m) => m.content) ?? []).join('\n');
      for (const c of corpus) for (const secret of c.secrets) expect(decoded).not.toContain(secret);
    } finally {
      await s.close();
    }
  });
});
