import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { answer, capturedLogger, diagnosisConfig, LlmDiagnoser, providerAt, request, ScriptedProvider } from '../test/diagnosis.js';

const quiet = pino({ level: 'silent' });
const servers: ScriptedProvider[] = [];
async function server(script: Parameters<typeof ScriptedProvider.start>[0]): Promise<ScriptedProvider> {
  const s = await ScriptedProvider.start(script);
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('LlmDiagnoser against a scripted chat-completions server', () => {
  it('accepts a valid answer and records provider, model, tokens and cost; sends a JSON schema narrowed to the allow-list', async () => {
    const s = await server(() => answer('heartbeat-restart', 0.8));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', s.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(r.answer).toMatchObject({ playbook: 'heartbeat-restart', confidence: 0.8 });
    expect(r.provider).toBe('primary');
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toMatchObject({ outcome: 'accepted', model: 'primary-model' });
    expect(r.tokens).toBeGreaterThan(0);
    expect(r.costUsd).toBeGreaterThan(0);
    const body = s.requests[0]!.json as { response_format: { type: string; json_schema: { strict: boolean; schema: { properties: { playbook: unknown } } } } };
    expect(body.response_format.type).toBe('json_schema');
    expect(JSON.stringify(body.response_format.json_schema.schema.properties.playbook)).toContain('heartbeat-restart');
    expect(s.requests[0]!.authorization).toBe('Bearer sk-test-primary-KEY-0123456789abcdef');
  });

  it.each([
    ['malformed JSON', { content: '{"root_cause": "x", confidence: ' }, /not JSON/],
    ['off-schema', { content: JSON.stringify({ root_cause: 'x', confidence: 7, playbook: null }) }, /off-schema/],
    ['a playbook outside the allow-list', answer('nuke-everything'), /not in the allow-list/],
    ['a refusal', { content: '', refusal: 'I cannot help with that' }, /refused/],
    ['a huge answer', { content: `{"root_cause":"${'x'.repeat(40_000)}"}` }, /cut at/],
  ] as const)('ignores %s with the reason and asks the next provider', async (_name, bad, reason) => {
    const a = await server(() => bad);
    const b = await server(() => answer(null, 0.3));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', a.baseUrl), providerAt('local', b.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(r.calls[0]).toMatchObject({ provider: 'primary', outcome: 'refused' });
    expect(r.calls[0]!.reason).toMatch(reason);
    expect(r.answer).toMatchObject({ playbook: null });
    expect(r.provider).toBe('local');
    expect(a.requests).toHaveLength(1);
  });

  it('honours 429 Retry-After before retrying the same provider', async () => {
    const s = await server((req) => (req.n === 1 ? { status: 429, headers: { 'retry-after': '0.3' } } : answer('heartbeat-restart')));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', s.baseUrl, { backoffMs: 1 })]), quiet);
    const t0 = performance.now();
    const r = await d.diagnose(request());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.calls.map((c) => c.httpStatus ?? c.outcome)).toEqual([429, 'accepted']);
    expect(r.answer?.playbook).toBe('heartbeat-restart');
  });

  it('a Retry-After beyond the limit goes to the next provider at once', async () => {
    const a = await server(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    const b = await server(() => answer('redis-oom'));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', a.baseUrl), providerAt('local', b.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(a.requests).toHaveLength(1);
    expect(r.provider).toBe('local');
  });

  it('retries a 500 with backoff, then falls back when retries are spent', async () => {
    const a = await server(() => ({ status: 500 }));
    const b = await server(() => answer('heartbeat-restart'));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', a.baseUrl, { retries: 2 }), providerAt('local', b.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(a.requests).toHaveLength(3);
    expect(r.calls.map((c) => `${c.provider}:${c.httpStatus ?? c.outcome}`)).toEqual(['primary:500', 'primary:500', 'primary:500', 'local:accepted']);
  });

  it('a provider that hangs is cut at its timeout and the fallback answers', async () => {
    const a = await server(() => ({ hang: true }));
    const b = await server(() => answer('heartbeat-restart'));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', a.baseUrl, { timeoutMs: 300 }), providerAt('local', b.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(r.calls[0]).toMatchObject({ provider: 'primary', outcome: 'error' });
    expect(r.calls[0]!.reason).toMatch(/within 300 ms/);
    expect(r.provider).toBe('local');
    expect(a.requests).toHaveLength(1);
  });

  it('a provider that is down (connection refused) is skipped', async () => {
    const a = await server(() => answer('x'));
    const deadUrl = a.baseUrl;
    await a.close();
    servers.splice(servers.indexOf(a), 1);
    const b = await server(() => answer('heartbeat-restart'));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', deadUrl), providerAt('local', b.baseUrl)]), quiet);
    const r = await d.diagnose(request());
    expect(r.calls[0]!.reason).toMatch(/connection/i);
    expect(r.provider).toBe('local');
  });

  it('stops asking once the incident budget of calls is spent, and keeps it across diagnoses of one incident', async () => {
    const s = await server(() => ({ status: 500 }));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', s.baseUrl, { retries: 5, backoffMs: 1 })], { calls: 3, tokens: 1_000_000 }), quiet);
    const req = request();
    const r = await d.diagnose(req);
    expect(s.requests).toHaveLength(3);
    expect(r.answer).toBeNull();
    expect(r.reason).toMatch(/budget spent: 3 of 3 calls/);
    const again = await d.diagnose(req);
    expect(s.requests).toHaveLength(3);
    expect(again.calls).toHaveLength(0);
    await d.diagnose(request());
    expect(s.requests).toHaveLength(6);
  });

  it('stops asking once the incident budget of tokens is spent', async () => {
    const s = await server(() => ({ content: 'garbage', usage: { prompt_tokens: 600, completion_tokens: 10 } }));
    const b = await server(() => answer('heartbeat-restart'));
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', s.baseUrl), providerAt('local', b.baseUrl)], { calls: 10, tokens: 500 }), quiet);
    const r = await d.diagnose(request());
    expect(b.requests).toHaveLength(0);
    expect(r.reason).toMatch(/610 of 500 tokens/);
  });

  it('never logs a key, nor puts it in a call record', async () => {
    const a = await server(() => ({ status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-primary-KEY-0123456789abcdef' } } }));
    const b = await server(() => answer('heartbeat-restart'));
    const { log, lines } = capturedLogger();
    const d = new LlmDiagnoser(diagnosisConfig([providerAt('primary', a.baseUrl), providerAt('local', b.baseUrl)]), log);
    const r = await d.diagnose(request());
    expect(r.provider).toBe('local');
    const everything = lines.join('') + JSON.stringify(r);
    expect(everything).toContain('HTTP 401');
    expect(everything).not.toContain('KEY-0123456789abcdef');
  });
});
