import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REAPER, writeChildPidFile } from './child-pid-files.js';

/** The reaper of one `homeostat up`: disarm it when the stack stopped its children itself. */
export interface OrphanReaper {
  readonly pid: number;
  /** Kills the waiting reaper (it never runs) and removes its pid file. */
  disarm(): void;
}

/**
 * Node has no PR_SET_PDEATHSIG, and nats-server and the process targets are programs Homeostat
 * cannot change. So `homeostat up` starts one tiny waiting process: `/bin/sh` blocked reading a
 * pipe whose only writer is `up`. When `up` dies, even by SIGKILL, the kernel closes the pipe, the
 * read returns, and the shell execs `homeostat reap --dir <run dir>`, which stops every child the
 * run's pid files name (nats-server, chaos agent, process targets; pid and start time checked).
 * The reaper runs in its own process group, so a Ctrl-C on the terminal does not reach it; on a
 * clean stop `up` disarms it. It costs one idle shell (~1 MB) while `up` runs.
 */
export function startOrphanReaper(runDir: string, root: string): OrphanReaper {
  const main = join(root, 'dist', 'cli', 'main.js');
  const child = spawn('/bin/sh', ['-c', 'read _ignored; exec "$0" "$1" reap --dir "$2"', process.execPath, main, runDir], {
    stdio: ['pipe', 'ignore', 'inherit'],
    detached: true,
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  const pid = child.pid;
  if (!pid) throw new Error('could not start the orphan reaper (/bin/sh)');
  const removePidFile = writeChildPidFile(runDir, REAPER, pid, 'reap --dir');
  return {
    pid,
    disarm() {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone already */
      }
      removePidFile();
    },
  };
}
