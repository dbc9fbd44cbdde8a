import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bus/index.js';
import { openStore, StoreLockedError, StoreUnreachableError } from './index.js';
import { PG_TEST_URL } from '../test/postgres.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('openStore', () => {
  it('refuses an unreachable DATABASE_URL with a clear message, logs the choice, and does not fall back to the embedded store', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-store-'));
    const { log, lines } = capturingLogger();
    try {
      const err = await openStore({ databaseUrl: `postgres://postgres:secret@127.0.0.1:${port}/homeostat`, storeDir: dir, log, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnreachableError);
      const e = err as StoreUnreachableError;
      expect(e.code).toBe('STORE_UNREACHABLE');
      expect(e.message).toContain(`127.0.0.1:${port}`);
      expect(e.message).toMatch(/ECONNREFUSED/);
      expect(e.message).toMatch(/never falls back/);
      expect(e.message).not.toContain('secret');
      expect(lines.some((l) => l.store === 'pg' && String(l.msg).includes('DATABASE_URL'))).toBe(true);
      expect(lines.some((l) => l.store === 'embedded')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the missing database when the server answers but the database does not exist', async () => {
    const url = new URL(PG_TEST_URL);
    url.pathname = '/homeostat_no_such_database';
    const { log } = capturingLogger();
    const err = await openStore({ databaseUrl: url.toString(), storeDir: '/nonexistent', log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnreachableError);
    expect((err as Error).message).toMatch(/database "homeostat_no_such_database" does not exist/);
  });

  it('refuses to open an embedded store another live process holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-store-'));
    try {
      writeFileSync(join(dir, 'owner.pid'), `${process.ppid}\n`);
      const { log, lines } = capturingLogger();
      const err = await openStore({ storeDir: dir, log }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreLockedError);
      expect((err as Error).message).toContain(`process ${process.ppid}`);
      expect(lines.some((l) => l.store === 'embedded' && l.location === dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
