import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ConfigFileError } from '../config/index.js';
import { loadTargets, ProcessDriver, readProc, type TargetStateChange } from './index.js';
import { setup } from '../test/setup.js';

const log = pino({ level: 'silent' });

describe('targets.yaml', () => {
  it('refuses an unknown field with file, line and field named', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'targets.yaml');
    writeFileSync(file, 'targets:\n  - name: w1\n    driver: process\n    builtin: demo-worker\n    colour: blue\n');
    expect(() => loadTargets(file)).toThrow(ConfigFileError);
    try {
      loadTargets(file);
    } catch (e) {
      const p = (e as ConfigFileError).problems[0]!;
      expect(p).toMatchObject({ file, line: 5, col: 5, field: 'targets.0.colour', message: 'unknown field' });
    }
  });

  it('refuses a missing field with the field named', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'targets.yaml');
    writeFileSync(file, 'targets:\n  - driver: process\n    builtin: demo-worker\n');
    expect(() => loadTargets(file)).toThrow(/targets\.yaml:2:\d+: targets\.0\.name: required field is missing/);
  });

  it('loads the shipped targets file', () => {
    const targets = loadTargets(join(import.meta.dirname, 'targets.yaml'));
    expect(targets.map((t) => t.name)).toEqual(['worker-1', 'worker-2']);
    expect(targets[0]!.checks).toEqual([
      { kind: 'heartbeat', interval: 100, misses: 3, startGrace: 5000 },
      { kind: 'http', path: '/health', status: '200-399', interval: 1000, failures: 3, successes: 1, startGrace: 2000 },
    ]);
  });
});

describe('process driver', () => {
  const spec = (args: string[]) => ({
    name: 'sleeper',
    command: process.execPath,
    args,
    env: {},
    stopGraceMs: 2000,
    critical: false,
    protected: false,
  });

  it('starts, knows its process tree, restarts, and learns of an exit from the exit event', async () => {
    // the program forks one child that sleeps; the tree is parent + child
    const script = "const {spawn}=require('node:child_process');spawn(process.execPath,['-e','setInterval(()=>{},1000)'],{stdio:'inherit'});setInterval(()=>{},1000)";
    const d = new ProcessDriver(spec(['-e', script]), log);
    await d.start();
    try {
      const pid = (await d.status()).pid!;
      expect(readProc(pid)).not.toBeNull();
      await expect.poll(async () => (await d.pids()).length).toBe(2);
      expect((await d.pids())[0]).toBe(pid);
      const treeBefore = await d.pids();

      await d.restart();
      const pid2 = (await d.status()).pid!;
      expect(pid2).not.toBe(pid);
      expect((await d.status()).restarts).toBe(1);
      // the whole old tree is gone (no orphan child)
      for (const p of treeBefore) expect(readProc(p)?.state ?? 'gone').toMatch(/gone|Z/);

      const exited = new Promise<TargetStateChange>((resolve) => d.onState(resolve));
      process.kill(pid2, 'SIGKILL');
      const exit = await exited;
      expect(exit).toMatchObject({ kind: 'exited', pid: pid2, signal: 'SIGKILL', expected: false, restarts: 1 });
      expect((await d.status()).running).toBe(false);
    } finally {
      await d.stop();
    }
  });

  it('keeps the last lines of stdout and stderr for logs(), bounded, with since and tail', async () => {
    const script = "for (let i = 1; i <= 8; i++) console.log('out ' + i); console.error('err 1'); setInterval(() => {}, 1000)";
    const d = new ProcessDriver({ ...spec(['-e', script]), logLines: 5 }, log);
    await d.start();
    try {
      await expect.poll(async () => (await d.logs()).map((l) => l.line)).toEqual(['out 5', 'out 6', 'out 7', 'out 8', 'err 1']);
      const all = await d.logs();
      expect(all.at(-1)).toMatchObject({ stream: 'stderr', line: 'err 1' });
      expect((await d.logs({ tail: 2 })).map((l) => l.line)).toEqual(['out 8', 'err 1']);
      expect(await d.logs({ since: all.at(-1)!.at + 1 })).toEqual([]);
    } finally {
      await d.stop();
    }
  });

  it('restarts a frozen (SIGSTOPped) process', async () => {
    const d = new ProcessDriver(spec(['-e', 'setInterval(()=>{},1000)']), log);
    await d.start();
    try {
      const pid = (await d.status()).pid!;
      await d.signal('SIGSTOP');
      await expect.poll(() => readProc(pid)?.state).toBe('T');
      await d.restart();
      expect((await d.status()).pid).not.toBe(pid);
      expect((await d.status()).running).toBe(true);
    } finally {
      await d.stop();
    }
  });
});
