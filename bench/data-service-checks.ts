/**
 * What one poll of the `redis` and `postgres` check kinds costs in CPU of the polling process
 * (process.cpuUsage: client side, over the check's kept connection), against a real redis-server
 * (started here on a free loopback port, maxmemory 50mb) and a real PostgreSQL (the machine's, read
 * only: the check reads pg_stat_activity). Goal (issue 11): ≤ 2 ms of CPU per poll per target.
 *
 * With `--docker`, against containers instead (a docker target each, as S17/S18 run them:
 * homeostat/redis:1 and homeostat/postgres:1 of targets/docker-images.sh, host network, free ports),
 * created through the docker driver and removed at the end; the checks take their port from the target.
 *
 *   npm run build && npm run bench:checks -- [--polls 500] [--pg postgres://postgres@127.0.0.1:5432/test] [--docker]
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../bus/index.js';
import pino from 'pino';
import { DockerTargetSchema } from '../targets/config.js';
import { parseCheck, runCheck, TargetRegistry, type CheckConfig } from '../targets/index.js';

const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const polls = Math.max(10, Number(argOf('polls') ?? 500) || 500);
const pgUrl = new URL(argOf('pg') ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const ctx = { target: 'bench', driver: {} as never, heartbeatAgeMs: () => null };
const GOAL_MS = 2;

async function listening(port: number, timeoutMs: number): Promise<void> {
  for (const end = performance.now() + timeoutMs; performance.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

/** CPU ms of this process per poll of `c`, over `polls` polls after a first one (which opens the kept connection). */
async function cpuPerPoll(c: CheckConfig): Promise<{ ms: number; wallMs: number; failing: string | null }> {
  const first = await runCheck(c, ctx);
  const before = process.cpuUsage();
  const t0 = performance.now();
  let failing: string | null = first.ok ? null : first.reason;
  for (let i = 0; i < polls; i++) {
    const r = await runCheck(c, ctx);
    if (!r.ok) failing = r.reason;
  }
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000 / polls, wallMs: (performance.now() - t0) / polls, failing };
}

/** The redis and postgres checks of two containers (docker targets) started through the docker driver. */
async function containerChecks(): Promise<{ checks: [string, CheckConfig][]; release: () => Promise<void> }> {
  const [rp, pp] = [await freePort(), await freePort()];
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const reg = await TargetRegistry.create(
    [
      DockerTargetSchema.parse({ name: 'cache', driver: 'docker', container: `hs-bench-redis-${tag}`, port: rp, stopGrace: '1s', create: { image: 'homeostat/redis:1', command: ['redis-server', '--port', String(rp), '--bind', '127.0.0.1', '--maxmemory', '50mb', '--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no'] }, checks: [{ kind: 'redis' }] }),
      DockerTargetSchema.parse({ name: 'db', driver: 'docker', container: `hs-bench-pg-${tag}`, port: pp, stopGrace: '5s', create: { image: 'homeostat/postgres:1', env: { PGPORT: String(pp), PG_APP_ROLE: 'app' } }, checks: [{ kind: 'postgres', user: 'postgres', appRole: 'app' }] }),
    ],
    { targetCredentials: { url: '' }, log: pino({ level: 'silent' }) },
  );
  const release = () => reg.stopAll();
  if ((await reg.startAll()).length) {
    await release();
    throw new Error('the containers could not be started (is dockerd running? are the images built: targets/docker-images.sh?)');
  }
  const checks = reg.all().map((t): [string, CheckConfig] => [`${t.checks[0]!.kind} in a container (${t.config.name})`, t.checks[0]!]);
  for (const [, c] of checks) {
    for (const end = performance.now() + 60_000; !(await runCheck(c, ctx)).ok; await new Promise((r) => setTimeout(r, 100))) {
      if (performance.now() > end) {
        await release();
        throw new Error(`the ${c.kind} container did not pass its check within 60 s`);
      }
    }
  }
  return { checks, release };
}

async function measure(checks: [string, CheckConfig][], where: string): Promise<void> {
  process.stdout.write(`data-service check cost (${where}): CPU of the polling process per poll, ${polls} polls each over a kept connection (goal ≤ ${GOAL_MS} ms)\n`);
  let worst = 0;
  for (const [name, c] of checks) {
    const r = await cpuPerPoll(c);
    worst = Math.max(worst, r.ms);
    process.stdout.write(`  ${name.padEnd(34)} ${r.ms.toFixed(3).padStart(7)} ms CPU per poll   (${r.wallMs.toFixed(2)} ms wall)${r.failing ? `   check failing: ${r.failing}` : ''}\n`);
  }
  process.stdout.write(`worst ${worst.toFixed(3)} ms per poll: ${worst <= GOAL_MS ? 'met' : 'MISSED'}\n`);
  process.exitCode = worst <= GOAL_MS ? 0 : 1;
}

async function main(): Promise<void> {
  if (process.argv.includes('--docker')) {
    const { checks, release } = await containerChecks();
    try {
      await measure(checks, 'containers');
    } finally {
      await release();
    }
    setTimeout(() => process.exit(), 200).unref();
    return;
  }
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--maxmemory', '50mb', '--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await listening(port, 10_000);
    const checks: [string, CheckConfig][] = [
      ['redis (INFO memory errorstats)', parseCheck({ kind: 'redis', port })],
      ['postgres (pg_stat_activity)', parseCheck({ kind: 'postgres', host: pgUrl.hostname, port: Number(pgUrl.port || 5432), user: decodeURIComponent(pgUrl.username || 'postgres'), database: pgUrl.pathname.slice(1) || 'postgres' })],
    ];
    await measure(checks, 'processes');
  } finally {
    redis.kill('SIGKILL');
  }
  // the checks' kept connections are unref'd / idle pools: nothing holds the process
  setTimeout(() => process.exit(), 200).unref();
}

await main();
