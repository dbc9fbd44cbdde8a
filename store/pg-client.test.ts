import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PG_TEST_URL, throwawayCluster, uniqueSchema } from '../test/postgres.js';
import { StoreQueryError, StoreUnavailableError } from './errors.js';
import { PgClient } from './pg-client.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('pg adapter faults (throwaway cluster)', () => {
  it('reports a hung server as unavailable within the query timeout, and works again once it answers', async () => {
    await using cluster = await throwawayCluster();
    const client = new PgClient({ url: cluster.url, schema: 'public', log, queryTimeoutMs: 1000 });
    try {
      expect((await client.query<{ x: number }>('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      // Freeze this cluster only: its postmaster (from postmaster.pid) and its backends.
      const postmaster = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const pids = [postmaster, ...execFileSync('pgrep', ['-P', String(postmaster)]).toString().trim().split('\n').map(Number)];
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      const err = await client.query('SELECT 2 AS x').catch((e: unknown) => e);
      for (const pid of pids) process.kill(pid, 'SIGCONT');
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).transient).toBe(true);
      expect((await client.query<{ x: number }>('SELECT 3 AS x')).rows).toEqual([{ x: 3 }]);
    } finally {
      await client.close();
    }
  });

  it('reports a statement the server refuses as a permanent query error', async () => {
    const client = new PgClient({ url: PG_TEST_URL, schema: uniqueSchema('q'), log });
    try {
      const err = await client.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreQueryError);
      expect((err as StoreQueryError).transient).toBe(false);
      expect((err as Error).message).toMatch(/no_such_table/);
    } finally {
      await client.close();
    }
  });
});
