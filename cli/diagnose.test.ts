import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { ScriptedProvider } from '../diagnosis/index.js';

const run = promisify(execFile);
const root = loadSettings({}, false).root;
const dir = mkdtempSync(join(tmpdir(), 'homeostat-diagnose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOMEOSTAT_LLM_')));
  try {
    const r = await run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], { env: { ...base, HOMEOSTAT_HOME: dir, HOMEOSTAT_LOG_FORMAT: 'json', ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('homeostat diagnose', () => {
  it('--evaluate prints the rules and the model side by side, with latency and cost; the key (from a file) never printed', async () => {
    const provider = await ScriptedProvider.start((req) => {
      const user = req.json?.messages?.[1]?.content ?? '';
      // a crude "model": picks the first allowed playbook named in the incident's signature family
      const pick = /events\.heartbeat/.test(user) ? 'heartbeat-restart' : null;
      return { content: JSON.stringify({ root_cause: 'scripted', confidence: 0.7, playbook: pick, justification: 'scripted' }) };
    });
    try {
      const keyFile = join(dir, 'key');
      writeFileSync(keyFile, 'sk-file-SECRET-0123456789\n', { mode: 0o600 });
      const env = { HOMEOSTAT_LLM_BASE_URL: provider.baseUrl, HOMEOSTAT_LLM_MODEL: 'scripted', HOMEOSTAT_LLM_API_KEY_FILE: keyFile, LOG_LEVEL: 'debug' };
      const r = await cli(env, 'diagnose', '--evaluate', join(root, 'diagnosis', 'evaluation', 'incidents.yaml'));
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/agreement with the labels: rules 83 %, model \d+ % \(12 incidents, 12 usable model answers\)/);
      expect(r.stdout).toMatch(/model latency p50 \d+ ms, p95 \d+ ms; cost per incident \$/);
      expect(provider.requests).toHaveLength(12);
      expect(provider.requests[0]!.authorization).toBe('Bearer sk-file-SECRET-0123456789');
      expect(r.stdout + r.stderr).not.toContain('SECRET');
      const json = await cli(env, 'diagnose', '--json', '--evaluate', join(root, 'diagnosis', 'evaluation', 'incidents.yaml'));
      const report = JSON.parse(json.stdout) as { baselineAgreement: number; incidents: { id: string; model: string | null }[] };
      expect(report.baselineAgreement).toBeCloseTo(10 / 12);
      expect(report.incidents.find((i) => i.id === 'S01-heartbeat-pause')!.model).toBe('heartbeat-restart');
    } finally {
      await provider.close();
    }
  }, 60_000);

  it('without a provider: --evaluate gives the rules only, and diagnosing an incident says what to set', async () => {
    const ev = await cli({}, 'diagnose', '--evaluate', join(root, 'diagnosis', 'evaluation', 'incidents.yaml'));
    expect(ev.code).toBe(0);
    expect(ev.stdout).toMatch(/rules 83 %, model n\/a/);
    expect(ev.stdout).toMatch(/model not evaluated: no LLM provider configured/);
    const one = await cli({}, 'diagnose', 'some-incident');
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/HOMEOSTAT_LLM_PROVIDERS.*HOMEOSTAT_LLM_BASE_URL/);
  }, 60_000);

  it('settings keep LLM keys out of their JSON', () => {
    const s = loadSettings({ HOMEOSTAT_LLM_BASE_URL: 'http://127.0.0.1:1/v1', HOMEOSTAT_LLM_MODEL: 'm', HOMEOSTAT_LLM_API_KEY: 'sk-env-SECRET-42', OPENAI_API_KEY: 'sk-other-SECRET-43' }, false);
    expect(s.llm.apiKey).toBe('sk-env-SECRET-42');
    expect(s.llm.keyEnv.OPENAI_API_KEY).toBe('sk-other-SECRET-43');
    expect(JSON.stringify(s)).not.toContain('SECRET');
  });
});
