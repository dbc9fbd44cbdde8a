import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readProc } from '../targets/index.js';
import { acquireHomeLock, HomeLockedError, LOCK_FILE, stopLeftovers, writeChildPidFile } from './index.js';

const dirs: string[] = [];
const tempHome = () => {
  const d = mkdtempSync(join(tmpdir(), 'homeostat-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A real process that lives until killed. */
function sleeper() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  return { child, pid: child.pid!, exited };
}

describe('home lock', () => {
  it('is held once: a live holder is named in the refusal; released, it can be taken again', () => {
    const home = tempHome();
    const lock = acquireHomeLock(home);
    expect(JSON.parse(readFileSync(join(home, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, startTime: readProc(process.pid)!.startTime });
    const err = (() => {
      try {
        acquireHomeLock(home);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HomeLockedError);
    expect((err as HomeLockedError).code).toBe('STACK_HOME_LOCKED');
    expect((err as Error).message).toContain(`another homeostat up (pid ${process.pid}) is running on ${home}`);
    lock.release();
    acquireHomeLock(home).release();
  });

  it('takes over a stale lock: its process is gone, or its pid now names another process (start time differs)', async () => {
    const home = tempHome();
    const s = sleeper();
    s.child.kill('SIGKILL');
    await s.exited;
    writeFileSync(join(home, LOCK_FILE), JSON.stringify({ pid: s.pid, startTime: 1, startedAt: '' }));
    acquireHomeLock(home).release();
    // the pid is alive (this process) but the start time is another process's: a reused pid
    writeFileSync(join(home, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: readProc(process.pid)!.startTime + 1, startedAt: '' }));
    const lock = acquireHomeLock(home);
    expect(JSON.parse(readFileSync(join(home, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, startTime: readProc(process.pid)!.startTime });
    lock.release();
  });
});

describe('leftover children', () => {
  it("stops the processes a dead run's pid files name, never a process whose start time or command line differs", async () => {
    const runDir = tempHome();
    const child = sleeper();
    const reused = sleeper();
    const foreign = sleeper();
    try {
      writeChildPidFile(runDir, 'chaos-agent', child.pid, 'sleep');
      writeChildPidFile(join(runDir, 'targets'), 'worker-1', reused.pid);
      // a pid file whose pid was reused by another program: same pid, other start time
      writeFileSync(join(runDir, 'targets', 'worker-1.pid'), JSON.stringify({ pid: reused.pid, startTime: readProc(reused.pid)!.startTime - 1 }));
      writeChildPidFile(runDir, 'nats-server', foreign.pid, 'nats-server -c');
      const stopped = await stopLeftovers(runDir, pino({ level: 'silent' }), 1000);
      expect(stopped).toEqual([{ name: 'chaos-agent', pid: child.pid }]);
      await child.exited;
      expect(readProc(reused.pid)?.state).not.toBe('Z');
      expect(readProc(foreign.pid)).not.toBeNull();
    } finally {
      for (const s of [child, reused, foreign]) s.child.kill('SIGKILL');
    }
  });
});
