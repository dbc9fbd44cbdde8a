import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../bus/index.js';
import { newId } from '../bus/index.js';

/** The machine's shared PostgreSQL, used only through throwaway schemas. */
export const PG_TEST_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${newId().slice(0, 12)}`.toLowerCase();
}

/** A unique schema on the shared database, dropped (with everything in it) on dispose. */
export async function throwawaySchema(prefix = 't'): Promise<{ url: string; schema: string } & AsyncDisposable> {
  const schema = uniqueSchema(prefix);
  return {
    url: PG_TEST_URL,
    schema,
    async [Symbol.asyncDispose]() {
      const c = new pg.Client({ connectionString: PG_TEST_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

function run(cmd: string, args: string[], asPostgres: boolean): Promise<void> {
  const argv = asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))));
  });
}

export interface ThrowawayCluster extends AsyncDisposable {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  /** Fast shutdown: connections are cut, as when an operator stops the server. */
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL cluster (initdb + pg_ctl in a temporary directory, on a free loopback port)
 * that a test may stop and start. Never the machine's shared database. Runs as the `postgres`
 * user when the tests run as root (initdb refuses root).
 */
export async function throwawayCluster(options: { password?: string } = {}): Promise<ThrowawayCluster> {
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-pg-'));
  chmodSync(dir, 0o700);
  if (asPostgres) {
    const { execFileSync } = await import('node:child_process');
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  // with a password: every connection (socket and TCP) must authenticate with SCRAM
  const auth = options.password ? ['-A', 'scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`] : ['-A', 'trust'];
  if (options.password) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'pwfile'), options.password + '\n', { mode: 0o600 });
    if (asPostgres) {
      const { execFileSync } = await import('node:child_process');
      chownSync(join(dir, 'pwfile'), Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
    }
  }
  await run(join(PG_BIN, 'initdb'), ['-D', data, ...auth, '-U', 'postgres', '--no-sync', '-E', 'UTF8'], asPostgres);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB`;
  const ctl = (...args: string[]) => run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), ...args], asPostgres);
  const cluster: ThrowawayCluster = {
    url: `postgres://postgres${options.password ? `:${encodeURIComponent(options.password)}` : ''}@127.0.0.1:${port}/postgres`,
    port,
    dir,
    start: () => ctl('-o', opts, '-w', '-t', '30', 'start'),
    stop: () => ctl('-m', 'fast', '-w', '-t', '30', 'stop'),
    async [Symbol.asyncDispose]() {
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
