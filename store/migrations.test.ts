import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { throwawaySchema } from '../test/postgres.js';
import { migrate } from './migrations.js';
import { openStore, type OpenStoreOptions } from './index.js';
import { PgClient } from './pg-client.js';
import { PgliteClient } from './pglite-client.js';
import type { SqlClient } from './sql-client.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Rows written by version 1 of the schema (before approvals, blacklist, runbook and `reopened`). */
async function seedVersion1(c: SqlClient): Promise<void> {
  await c.query(`INSERT INTO incidents (id, target, family, signature, status, opened_at, updated_at, last_event_at, resolved_at, mttr_ms, event_count, run_count, error_logs, metrics)
    VALUES ('inc-1', 'worker-1', 'heartbeat', 'events.heartbeat.missed', 'resolved', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', 5000, 2, 2, '[{"message":"missed"}]', '{"missedIntervals":3}')`);
  await c.query(`INSERT INTO runs (id, incident_id, playbook, target, event_id, signature, status, reason, started_at, ended_at, duration_ms) VALUES
    ('run-1', 'inc-1', 'heartbeat-restart', 'worker-1', 'ev-1', 'events.heartbeat.missed', 'failed', 'verify timed out', '2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z', 1000),
    ('run-2', 'inc-1', 'heartbeat-restart', 'worker-1', 'ev-2', 'events.heartbeat.missed', 'resolved', NULL, '2026-01-01T00:00:03Z', '2026-01-01T00:00:05Z', 2000)`);
  await c.query(`INSERT INTO steps (run_id, seq, step, action, params, status, exit_code, stdout, duration_ms, attempt, ended_at)
    VALUES ('run-2', 1, 'restart', 'process.restart', '{"target":"worker-1"}', 'ok', 0, 'restarted', 800, 2, '2026-01-01T00:00:04Z')`);
  await c.query(`INSERT INTO actions (id, run_id, step_seq, action, target, params, status, requested_at) VALUES ('act-1', 'run-2', 1, 'process.restart', 'worker-1', '{}', 'ok', '2026-01-01T00:00:03Z')`);
}

/** Runs `fn` with a way to open the raw client (to build the old schema) and the options that reopen it as a store. */
type WithStore = (open: () => Promise<SqlClient>, reopen: Partial<OpenStoreOptions>) => Promise<void>;

const adapters = [
  {
    name: 'pg',
    async with(fn: WithStore) {
      await using s = await throwawaySchema('mig');
      await fn(async () => new PgClient({ url: s.url, schema: s.schema, log }), { databaseUrl: s.url, schema: s.schema });
    },
  },
  {
    name: 'embedded',
    async with(fn: WithStore) {
      const dir = mkdtempSync(join(tmpdir(), 'homeostat-mig-'));
      try {
        await fn(() => PgliteClient.open({ dir, schema: 'homeostat' }), { storeDir: dir });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];

describe.each(adapters)('migrations ($name)', (adapter) => {
  it('migrates a seeded version-1 schema forward without losing rows, and fills the runbook from old runs', async () => {
    await adapter.with(async (open, reopen) => {
      const old = await open();
      expect(await migrate(old, log, { count: 1 })).toEqual(['1763900000000_history']);
      await seedVersion1(old);
      await old.close();

      const store = await openStore({ storeDir: '/nonexistent', log, ...reopen });
      try {
        const detail = await store.getRun('run-2');
        expect(detail?.run).toMatchObject({ status: 'resolved', durationMs: 2000, incidentId: 'inc-1' });
        // the column is still `attempt`: a row recorded before the typed run-phase contract reads as `attempts`
        expect(detail?.steps).toMatchObject([{ step: 'restart', stdout: 'restarted', exitCode: 0, attempts: 2 }]);
        expect(detail?.actions).toMatchObject([{ id: 'act-1', stepSeq: 1 }]);
        expect(detail?.incident).toMatchObject({ id: 'inc-1', mttrMs: 5000, reopened: 0, metrics: { missedIntervals: 3 }, errorLogs: [{ message: 'missed' }] });
        expect((await store.listRuns()).map((r) => r.id)).toEqual(['run-2', 'run-1']);
        expect(await store.runbook()).toMatchObject([
          { signature: 'events.heartbeat.missed', playbook: 'heartbeat-restart', runs: 2, resolved: 1, failed: 1, lastStatus: 'resolved', lastRunId: 'run-2', avgResolveMs: 2000 },
        ]);
        expect(await store.activeBlacklist()).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
});
