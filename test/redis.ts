import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../bus/index.js';

export interface ThrowawayRedis extends AsyncDisposable {
  port: number;
  pid: number;
}

/** A private redis-server on a free loopback port (maxmemory 50mb, noeviction, no persistence; `extraArgs` e.g. `--requirepass x`), killed on dispose. */
export async function throwawayRedis(maxmemory = '50mb', extraArgs: string[] = []): Promise<ThrowawayRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--maxmemory', maxmemory, '--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' });
  const end = performance.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (performance.now() > end) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    pid: child.pid!,
    async [Symbol.asyncDispose]() {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
