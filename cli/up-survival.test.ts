import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { listProcs, processTree, readCommand, readProc } from '../targets/index.js';
import { nextMessage } from '../test/setup.js';

const root = loadSettings({}, false).root;
const main = join(root, 'dist', 'cli', 'main.js');
const run = promisify(execFile);
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const GATED = `name: gated-drill
on: { event: events.drill.gated }
steps:
  - id: ask
    action: notify.send
    with: { message: "gated drill on {{ event.target }}" }
    approval: required
    approval_timeout: 5m
`;

interface Up {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: string[];
}

/** Starts `homeostat up` on `env`, resolves once it logged "homeostat is up". */
async function startUp(env: NodeJS.ProcessEnv): Promise<Up> {
  const child = spawn(process.execPath, [main, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (l) => {
      stderr.push(l);
      if (l.includes('homeostat is up')) resolve();
    });
    void exited.then((c) => reject(new Error(`homeostat up exited early (${c}): ${stderr.slice(-5).join('\n')}`)));
  });
  return { child, exited, stderr };
}

const alive = (pid: number) => {
  const p = readProc(pid);
  return p !== null && p.state !== 'Z';
};
const pidOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
/** nats-servers running on this run directory's config. */
const natsServersOn = (runDir: string) => listProcs().filter((p) => p.state !== 'Z' && /(^|\/)nats-server /.test(readCommand(p.pid, 4096) ?? '') && (readCommand(p.pid, 4096) ?? '').includes(join(runDir, 'nats-server.conf')));

describe('homeostat up survives its own crash (real processes)', () => {
  const home = mkdtempSync(join(tmpdir(), 'homeostat-survive-'));
  const pbDir = join(home, 'playbooks');
  mkdirSync(pbDir);
  writeFileSync(join(pbDir, 'gated.yaml'), GATED);
  const runDir = join(home, 'run');
  const env = { ...process.env, HOMEOSTAT_HOME: home, HOMEOSTAT_PLAYBOOKS: pbDir, HOMEOSTAT_LOG_FORMAT: 'json', NATS_URL: '', NATS_USER: '', NATS_PASSWORD: '', HOMEOSTAT_NATS_USER: '', HOMEOSTAT_NATS_PASSWORD: '', DATABASE_URL: '' };
  const ups: Up[] = [];
  afterAll(async () => {
    for (const u of ups) u.child.kill('SIGKILL');
    await run(process.execPath, [main, 'reap', '--dir', runDir], { env }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a second up on the same home; after a SIGKILL the children go, the next up runs one nats-server and resumes the unfinished run', async () => {
    const first = await startUp(env);
    ups.push(first);

    // a second `up` on the same home is refused, naming the running one
    const second = await run(process.execPath, [main, 'up'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another homeostat up (pid ${first.child.pid}) is running on ${home}`);

    // an unfinished run: a gated step waiting for approval
    const creds = JSON.parse(readFileSync(join(runDir, 'credentials.json'), 'utf8')) as { url: string; users: Record<string, string> };
    const op = await BusClient.connect({ url: creds.url, user: 'operator', password: creds.users.operator }, 'survival-test', log);
    const waiting = nextMessage<{ runId: string }>(op, 'runs.*.awaiting_approval', () => true, 15_000);
    await op.flush();
    const event = makeEnvelope('drill.gated', 'survival-test', {}, { subject: 'events.drill.gated', target: 'drill-1' });
    op.nc.publish('events.drill.gated', JSON.stringify(event));
    const runId = (await waiting).data.runId;
    await op.close().catch(() => undefined);

    const recorded = ['nats-server', 'chaos-agent'].map((n) => pidOf(join(runDir, `${n}.pid`)));
    // every process `up` started: nats-server, chaos agent, the demo workers and their children, the reaper
    const children = processTree(first.child.pid!).filter((p) => p !== first.child.pid);
    expect(children).toEqual(expect.arrayContaining(recorded));
    expect(children.length).toBeGreaterThanOrEqual(5);
    first.child.kill('SIGKILL');
    await first.exited;
    // the orphan reaper stops them without waiting for the next start
    await expect.poll(() => children.filter(alive), { timeout: 10_000, interval: 50 }).toEqual([]);

    const again = await startUp(env);
    ups.push(again);
    expect(natsServersOn(runDir)).toHaveLength(1);
    expect(children.filter(alive)).toEqual([]);

    // the run resumed from the journal waits again; natscli's login names and the 12-character prefix work
    const creds2 = JSON.parse(readFileSync(join(runDir, 'credentials.json'), 'utf8')) as { url: string; users: Record<string, string> };
    const op2 = await BusClient.connect({ url: creds2.url, user: 'operator', password: creds2.users.operator }, 'survival-test', log);
    const resolved = nextMessage(op2, `runs.${runId}.resolved`, () => true, 40_000);
    await op2.flush();
    // as a user would: `eval $(homeostat creds operator)` exports natscli's names, then approve by the prefix `runs` prints
    const shell = `eval $("${process.execPath}" "${main}" creds operator) && exec "${process.execPath}" "${main}" approve ${runId.slice(0, 12)}`;
    const approve = () => run('/bin/sh', ['-c', shell], { env: { ...env, LOG_LEVEL: 'warn' } }).catch((e: { stderr: string }) => ({ stdout: e.stderr }));
    await expect.poll(async () => (await approve()).stdout, { timeout: 30_000, interval: 250 }).toContain(`run ${runId}: step "ask" approved`);
    await resolved;
    await op2.close().catch(() => undefined);

    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(natsServersOn(runDir)).toEqual([]);
  }, 120_000);
});
