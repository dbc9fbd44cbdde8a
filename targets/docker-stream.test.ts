import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonFileLogTail } from './docker-stream.js';

describe('readJsonFileLogTail: a death root cause read straight from the json-file log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-jsonlog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const line = (log: string, stream = 'stderr') => `${JSON.stringify({ log: `${log}\n`, stream, time: '2026-12-02T16:00:00.123456789Z' })}\n`;

  it('gives the last lines, oldest first, with stream and time', () => {
    const f = join(dir, 'a-json.log');
    writeFileSync(f, line('one', 'stdout') + line('two') + line('FATAL: invalid line in configuration file /data/db.conf'));
    expect(readJsonFileLogTail(f, 2)).toEqual([
      { at: Date.parse('2026-12-02T16:00:00.123Z'), stream: 'stderr', line: 'two' },
      { at: Date.parse('2026-12-02T16:00:00.123Z'), stream: 'stderr', line: 'FATAL: invalid line in configuration file /data/db.conf' },
    ]);
  });

  it('reads only the end of a big file, dropping the part line it starts in', () => {
    const f = join(dir, 'big-json.log');
    writeFileSync(f, line('x'.repeat(1000)).repeat(200) + line('PANIC: checksum mismatch'));
    const lines = readJsonFileLogTail(f, 1000, 4096)!;
    expect(lines.length).toBeLessThan(5);
    expect(lines.at(-1)?.line).toBe('PANIC: checksum mismatch');
  });

  it('is null for a missing file or one in another format (the engine is asked instead)', () => {
    expect(readJsonFileLogTail(join(dir, 'missing.log'), 20)).toBeNull();
    const f = join(dir, 'syslog.log');
    writeFileSync(f, 'Dec  2 16:00:00 host app[1]: hello\n');
    expect(readJsonFileLogTail(f, 20)).toBeNull();
  });
});
