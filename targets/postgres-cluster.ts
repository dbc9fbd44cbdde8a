/**
 * The `postgres` built-in target: a throwaway PostgreSQL cluster of Homeostat's own. On its first
 * start it runs `initdb` (trust authentication on loopback) in HOMEOSTAT_PGDATA, a directory under
 * the stack's run dir; then it runs `postgres` on PG_PORT with PG_ARGS (a JSON array, e.g.
 * `["-c","max_connections=20"]`) and creates the application role PG_APP_ROLE (LOGIN, no
 * superuser) when it is missing. Never the machine's shared database.
 *
 * Run as root, initdb and postgres run as the `postgres` user (`setpriv`, which execs: no extra
 * process), and the run dir and its `targets/` get mode 0711 (traversal only: their files stay 0600).
 * SIGTERM (the driver's stop, sent to the whole process group) becomes a fast shutdown (SIGINT),
 * so held client connections never stall a restart. It also stops when its parent is gone.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';

const env = process.env;
const data = env.HOMEOSTAT_PGDATA ?? '';
const port = Number(env.PG_PORT ?? 0);
const bin = env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const appRole = env.PG_APP_ROLE ?? '';
const extra = JSON.parse(env.PG_ARGS ?? '[]') as string[];
const parent = process.ppid;
const asRoot = process.getuid?.() === 0;
const log = (msg: string, more: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ time: Date.now(), pid: process.pid, msg, ...more }) + '\n');

if (!data || !port) {
  log('HOMEOSTAT_PGDATA and PG_PORT are required');
  process.exit(2);
}

/** argv of `cmd` run as the postgres user when this runs as root. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]] : [cmd, args];
}

function prepare(): void {
  if (existsSync(join(data, 'PG_VERSION'))) return;
  mkdirSync(data, { recursive: true, mode: 0o700 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(data, uid, gid);
    for (const d of [dirname(data), dirname(dirname(data))]) chmodSync(d, 0o711);
  }
  const [cmd, args] = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  log('initdb done', { data });
}

async function ensureRole(): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(appRole)) return;
  for (let i = 0; i < 200; i++) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [appRole]);
      if (!r.rowCount) await c.query(`CREATE ROLE ${appRole} LOGIN NOSUPERUSER`);
      await c.end();
      log('ready', { port, appRole });
      return;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  log('the application role could not be created', { appRole });
}

prepare();
const [cmd, args] = asPostgres(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', '', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB', ...extra]);
const server: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
server.once('exit', (code, signal) => {
  log('postgres exited', { code, signal });
  process.exit(code ?? 1);
});
const shutdown = () => server.kill('SIGINT');
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setInterval(() => {
  if (process.ppid !== parent) shutdown();
}, 500).unref();
void ensureRole();
