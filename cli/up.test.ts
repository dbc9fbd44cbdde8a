import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { listProcs, processTree, readProc } from '../targets/index.js';
import { NatsServerMissingError, startNatsServer, loadAclPolicy } from '../bus/index.js';

const root = loadSettings({}, false).root;
const main = join(root, 'dist', 'cli', 'main.js');

describe('homeostat up', () => {
  it('starts nats-server, targets and the chaos agent, writes credentials, and on SIGINT stops everything it started', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-up-'));
    const child = spawn(process.execPath, [main, 'up'], { env: { ...process.env, HOMEOSTAT_HOME: home, HOMEOSTAT_LOG_FORMAT: 'json', NATS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr }).on('line', (l) => l.includes('homeostat is up') && resolve());
        void exited.then((c) => reject(new Error(`homeostat up exited early (${c})`)));
      });
      const tree = processTree(child.pid!, listProcs());
      const names = tree.map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' '));
      expect(names.some((n) => n.startsWith('nats-server'))).toBe(true);
      expect(names.filter((n) => n.includes('demo-worker.js'))).toHaveLength(2);
      expect(names.some((n) => n.includes('chaos-agent'))).toBe(true);
      const creds = JSON.parse(readFileSync(join(home, 'run', 'credentials.json'), 'utf8')) as { url: string; users: Record<string, string> };
      expect(creds.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(Object.keys(creds.users)).toEqual(expect.arrayContaining(['operator', 'chaos', 'handler', 'engine']));

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const left = tree.filter((p) => p !== child.pid && readProc(p) && readProc(p)!.state !== 'Z');
      expect(left).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('says how to install nats-server when it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-nonats-'));
    const err = await startNatsServer({ dir, policy: loadAclPolicy(join(root, 'bus', 'acl.yaml')), binary: 'nats-server-that-does-not-exist' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerMissingError);
    expect((err as Error).message).toMatch(/apt-get install nats-server/);
  });
});
