import { spawn } from 'node:child_process';
import type { ExecOptions, ExecResult } from './driver.js';

/**
 * Runs `argv` without a shell, in its own process group, and kills the group at the timeout.
 * stdout and stderr are each cut at `maxOutputBytes`; the result never rejects.
 */
export function runBounded(argv: readonly string[], opts: ExecOptions & { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.resolve({ exitCode: null, stdout: '', stderr: '', timedOut: false, error: 'empty argv' });
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    let timedOut = false;
    const keep = (key: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const room = opts.maxOutputBytes - Buffer.byteLength(out[key]);
      if (room > 0) out[key] += chunk.subarray(0, room).toString('utf8');
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }, opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: null, ...out, timedOut: false, error: e.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? null : code, ...out, timedOut });
    });
  });
}
