import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../bus/index.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('homeostat up with an unreachable DATABASE_URL', () => {
  it('stops with a clear message (no stack trace, no fallback to the embedded store) and exit status 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-up-'));
    const port = await freePort();
    try {
      const env = { ...process.env, HOMEOSTAT_HOME: home, DATABASE_URL: `postgres://homeostat:hunter2@127.0.0.1:${port}/history`, HOMEOSTAT_LOG_FORMAT: 'json' as const };
      const err = (await run(process.execPath, [main, 'up'], { env, timeout: 60_000 }).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(err.code).toBe(2);
      expect(err.stderr).toContain(`homeostat: cannot reach PostgreSQL at postgres://homeostat:***@127.0.0.1:${port}/history (DATABASE_URL)`);
      expect(err.stderr).toMatch(/never falls back/);
      expect(err.stderr).not.toContain('hunter2');
      expect(err.stderr).not.toMatch(/\n\s+at /);
      expect(err.stderr).toMatch(/"store":"pg"/);
      expect(err.stderr).not.toMatch(/"store":"embedded"/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
