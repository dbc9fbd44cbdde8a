import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { openStore, type RunRecord } from '../store/index.js';
import { resolveRunId } from './run-id-prefix.js';

const log = pino({ level: 'silent' });
const at = new Date(Date.UTC(2026, 0, 1));
const run = (id: string, status: RunRecord['status']): RunRecord => ({
  id, incidentId: null, playbook: 'gated', target: 'redis-1', eventId: null, signature: null, status, reason: null, startedAt: at, endedAt: null, durationMs: null, traceId: null,
});

describe('run id prefixes (approve / reject)', () => {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-prefix-'));
  const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: home, DATABASE_URL: '', NATS_URL: '' }, false);
  beforeAll(async () => {
    const store = await openStore({ storeDir: settings.storeDir, log });
    await store.saveRun(run('aaaa11110000000000000000000000a1', 'awaiting_approval'));
    await store.saveRun(run('aaaa11110000000000000000000000b2', 'resolved'));
    await store.saveRun(run('bbbb22220000000000000000000000c3', 'awaiting_approval'));
    await store.saveRun(run('bbbb22220000000000000000000000d4', 'awaiting_approval'));
    await store.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('takes a whole id as it is and a unique prefix as the run it names, preferring the runs awaiting approval', async () => {
    expect(await resolveRunId('ffffffff000000000000000000000000', settings, log)).toBe('ffffffff000000000000000000000000');
    expect(await resolveRunId('aaaa1111000', settings, log)).toBe('aaaa11110000000000000000000000a1');
  });

  it('refuses an ambiguous prefix listing the candidates; passes an unknown one on for the engine to answer', async () => {
    await expect(resolveRunId('bbbb2222', settings, log)).rejects.toThrow(
      /run id prefix "bbbb2222" matches 2 runs waiting for approval; give more characters:\n {2}bbbb22220000000000000000000000c3 {2}awaiting_approval {2}gated on redis-1\n {2}bbbb22220000000000000000000000d4/,
    );
    expect(await resolveRunId('cccc', settings, log)).toBe('cccc');
  });
});
