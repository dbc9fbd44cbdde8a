import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcUsage } from '../targets/index.js';
import { HomeLockedError, StackError } from './errors.js';

/** What the lock file holds: the holder's pid and start time (so a reused pid is never taken for it). */
export interface LockHolder {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTime: number;
  startedAt: string;
}

/** The lock of one `$HOMEOSTAT_HOME`, held while `homeostat up` runs. */
export interface HomeLock {
  readonly file: string;
  /** Removes the lock file if it is still this process's. */
  release(): void;
}

/** The lock file's name in `$HOMEOSTAT_HOME`. */
export const LOCK_FILE = 'up.lock';

/** The holder of `file`, or null when it is missing or unreadable. */
export function readLockHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.startTime === 'number' ? { pid: h.pid, startTime: h.startTime, startedAt: String(h.startedAt ?? '') } : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote `h` still runs (same pid and start time, not a zombie). */
export function holderAlive(h: LockHolder): boolean {
  const p = readProcUsage(h.pid);
  return p !== null && p.state !== 'Z' && p.startTime === h.startTime;
}

const sameHolder = (a: LockHolder | null, b: LockHolder | null) => a !== null && b !== null && a.pid === b.pid && a.startTime === b.startTime;

/**
 * Takes the lock of `home` for this process: `$HOMEOSTAT_HOME/up.lock` holding pid and start time.
 * The file is created complete and atomically (written aside, then hard-linked into place: like
 * O_EXCL, the link fails when the file exists, and nobody ever reads a half-written lock). A lock
 * whose holder is alive is refused with {@link HomeLockedError}; a stale one (its process gone, or
 * its pid reused by another program) is taken over.
 */
export function acquireHomeLock(home: string): HomeLock {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, startTime: readProcUsage(process.pid)?.startTime ?? 0, startedAt: new Date().toISOString() };
  const aside = join(home, `${LOCK_FILE}.${process.pid}`);
  writeFileSync(aside, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(aside, file);
        return {
          file,
          release() {
            if (sameHolder(readLockHolder(file), me)) rmSync(file, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StackError('STACK_LOCK_IO', `cannot create the lock ${file}: ${(e as Error).message}`, { cause: e });
      }
      const holder = readLockHolder(file);
      if (holder && holderAlive(holder)) throw new HomeLockedError(home, holder.pid);
      takeOverStale(file, holder, home);
    }
    throw new StackError('STACK_LOCK_IO', `cannot take the lock ${file}: it keeps changing hands`);
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Moves a stale lock out of the way. The rename is atomic; if what was moved is not the stale lock
 * judged (another process took the lock over in between), it is put back for the next round.
 */
function takeOverStale(file: string, stale: LockHolder | null, home: string): void {
  const moved = join(home, `${LOCK_FILE}.stale.${process.pid}`);
  try {
    renameSync(file, moved);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StackError('STACK_LOCK_IO', `cannot take over the stale lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  const got = readLockHolder(moved);
  if (got === null || sameHolder(got, stale) || !holderAlive(got)) {
    rmSync(moved, { force: true });
    return;
  }
  try {
    linkSync(moved, file);
  } catch {
    /* a third process holds it now: the next round reads it */
  }
  rmSync(moved, { force: true });
}
