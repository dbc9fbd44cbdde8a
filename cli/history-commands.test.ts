import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { ScriptedProvider } from '../diagnosis/index.js';
import { openStore } from '../store/index.js';
import { nextMessage } from '../test/setup.js';
import { startStack } from '../stack/index.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe('history commands (embedded store)', () => {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-cli-'));
  const env = { ...process.env, HOMEOSTAT_HOME: home, DATABASE_URL: '', LOG_LEVEL: 'warn' as const };
  const cli = async (...args: string[]) => (await run(process.execPath, [main, ...args], { env })).stdout;

  beforeAll(async () => {
    const store = await openStore({ storeDir: join(home, 'store'), log: pino({ level: 'silent' }) });
    await store.saveIncident({
      id: 'inc0000000001', target: 'worker-1', family: 'heartbeat', signature: 'events.heartbeat.missed', status: 'resolved', openedAt: at(0),
      updatedAt: at(3), lastEventAt: at(0), resolvedAt: at(3), mttrMs: 3000, eventCount: 1, runCount: 1, reopened: 0, errorLogs: [], metrics: {},
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736', downtimeMs: 3000, downtimeAvoidedMs: 1_797_000, downtimeCost: 0.25, costAvoided: 149.75,
    });
    await store.saveRun({
      id: 'run0000000001abc', incidentId: 'inc0000000001', playbook: 'heartbeat-restart', target: 'worker-1', eventId: 'ev1',
      signature: 'events.heartbeat.missed', status: 'resolved', reason: null, startedAt: at(1), endedAt: at(3), durationMs: 2000, traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    await store.saveStep({
      runId: 'run0000000001abc', seq: 1, step: 'restart', action: 'process.restart', params: { target: 'worker-1' }, status: 'ok', error: null,
      exitCode: 0, stdout: 'restarted worker-1\n', stderr: null, result: {}, durationMs: 812, attempts: 1, healthBefore: { healthy: false },
      healthAfter: { healthy: true }, startedAt: at(1), endedAt: at(2),
    });
    await store.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('prints runs, one run with its steps and outputs, incidents and the runbook as tables', async () => {
    expect(await cli('runs')).toMatch(/RUN\s+STARTED\s+PLAYBOOK[\s\S]*run000000000\s+2026-01-01 00:00:01Z\s+heartbeat-restart\s+worker-1\s+resolved\s+1\s+2.0 s/);
    const one = await cli('runs', 'run0000000001');
    expect(one).toMatch(/status\s+resolved/);
    expect(one).toMatch(/1\s+restart\s+process.restart\s+ok\s+1\s+0\s+812 ms\s+unhealthy → healthy/);
    expect(one).toContain('--- step 1 restart stdout ---\nrestarted worker-1');
    const incidents = await cli('incidents');
    expect(incidents).toMatch(/inc000000000\s+2026-01-01 00:00:00Z\s+worker-1\s+heartbeat\s+resolved\s+1\s+1\s+3.0 s\s+3.0 s\s+0.25\s+29.9 min\s+149.75\s+events.heartbeat.missed\s+4bf92f3577b34da6a3ce929d0e0e4736/);
    expect(incidents).toMatch(/downtime 3.0 s in 1 recovered incident\(s\), 29.9 min avoided against manual repair; cost 0.25, saved 149.75/);
    expect(one).toMatch(/trace\s+4bf92f3577b34da6a3ce929d0e0e4736/);
    expect(await cli('runbook')).toMatch(/events.heartbeat.missed\s+heartbeat-restart\s+1\s+1\s+0\s+0\s+100%\s+2.0 s\s+resolved/);
  });

  it('prints JSON with --json', async () => {
    const runs = JSON.parse(await cli('runs', '--json')) as { id: string; stepCount: number }[];
    expect(runs).toMatchObject([{ id: 'run0000000001abc', stepCount: 1 }]);
    const detail = JSON.parse(await cli('runs', 'run0000000001abc', '--json')) as { steps: { stdout: string }[] };
    expect(detail.steps[0]?.stdout).toBe('restarted worker-1\n');
    expect(JSON.parse(await cli('runbook', '--json'))).toMatchObject([{ signature: 'events.heartbeat.missed', resolved: 1 }]);
    expect(JSON.parse(await cli('incidents', '--status', 'open', '--json'))).toEqual([]);
  });

  it('says so when a run does not exist or a filter is wrong', async () => {
    await expect(cli('runs', 'nosuchrun')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no run "nosuchrun"') as unknown });
    await expect(cli('incidents', '--status', 'nope')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--status must be one of') as unknown });
  });
});

describe('history commands while homeostat up holds the embedded store', () => {
  it('asks the running recorder over the bus and shows the run it recorded', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-up-'));
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: home, DATABASE_URL: '', HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const stack = await startStack({ settings, log, dir: join(home, 'run'), chaos: false });
    try {
      expect(stack.store?.kind).toBe('embedded');
      const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', log);
      // freeze it once it beats (a worker frozen before its first beat is judged after the start grace, by its http check)
      const beating = nextMessage(op, 'heartbeat.worker-1', () => true, 10_000);
      await op.flush();
      await beating;
      const resolved = nextMessage(op, 'runs.*.resolved', (e) => e.data.target === 'worker-1', 30_000, RunPhaseData);
      await op.flush();
      for (const pid of await stack.registry.get('worker-1').driver.pids()) process.kill(pid, 'SIGSTOP');
      const runId = (await resolved).data.runId;
      await op.close();
      await stack.recorder!.idle();

      const env = { ...process.env, HOMEOSTAT_HOME: home, DATABASE_URL: '', LOG_LEVEL: 'warn' as const };
      const cli = async (...args: string[]) => (await run(process.execPath, [main, ...args], { env })).stdout;
      const runs = JSON.parse(await cli('runs', '--json')) as { id: string; status: string; stepCount: number; startedAt: string }[];
      expect(runs).toMatchObject([{ id: runId, status: 'resolved', stepCount: 2 }]);
      const one = await cli('runs', runId.slice(0, 8));
      expect(one).toMatch(/1\s+restart\s+process.restart\s+ok/);
      expect(one).toMatch(/2\s+verify\s+target.health\s+ok/);
      // the action record: the command as an operator reads it, exit code, duration
      expect(one).toMatch(/--- action \w+ process.restart \(step 1\) ok {2}exit 0 {2}[\d.]+ m?s ---\n\$ kill -TERM \d+ && start the demo-worker builtin\n/);
      expect(await cli('incidents')).toMatch(/worker-1\s+heartbeat\s+resolved/);

      // homeostat diagnose reads the incident through the recorder too, and the recorder keeps the diagnosis
      const incidents = JSON.parse(await cli('incidents', '--json')) as { id: string; signature: string }[];
      // the checking after the fix (events.target.rapid_check) joins incidents, never opens one
      expect(incidents.map((i) => i.signature)).not.toContain('events.target.rapid_check');
      const incident = incidents.find((i) => i.signature === 'events.heartbeat.missed');
      const provider = await ScriptedProvider.start(() => ({
        content: JSON.stringify({ root_cause: 'the worker stopped beating', confidence: 0.8, playbook: 'heartbeat-restart', justification: 'frozen process' }),
      }));
      try {
        const llmEnv = { ...env, HOMEOSTAT_LLM_BASE_URL: provider.baseUrl, HOMEOSTAT_LLM_MODEL: 'scripted' };
        const advice = (await run(process.execPath, [main, 'diagnose', incident!.id, '--playbooks', 'heartbeat-restart', '--json'], { env: llmEnv })).stdout;
        expect(JSON.parse(advice)).toMatchObject({ incidentId: incident!.id, answer: { playbook: 'heartbeat-restart', root_cause: 'the worker stopped beating' } });
        expect(provider.requests[0]!.json?.messages?.[1]?.content).toContain('events.heartbeat.missed');
      } finally {
        await provider.close();
      }
      const kept = await stack.store!.listDiagnoses({ incidentId: incident!.id });
      expect(kept).toMatchObject([{ runId: null, decision: { kind: 'advice' }, answer: { playbook: 'heartbeat-restart' } }]);
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
