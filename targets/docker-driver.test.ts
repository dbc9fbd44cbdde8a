import type Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDriver, TRUNCATION_MARKER, type TargetStateChange } from './index.js';
import { BUSYBOX_IMAGE, busyboxTarget, containerName, removeContainers, requireDocker } from '../test/docker.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** The next state change that satisfies `pred`. */
function nextState(d: DockerDriver, pred: (s: TargetStateChange) => boolean, timeoutMs = 10_000): Promise<TargetStateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no matching state change of ${d.name} within ${timeoutMs} ms`))), timeoutMs);
    const off = d.onState((s) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

describe('docker driver (real dockerd)', () => {
  let docker: Docker;
  const names: string[] = [];
  const drivers: DockerDriver[] = [];
  const driver = (...a: Parameters<typeof busyboxTarget>) => {
    names.push(a[0]);
    const d = new DockerDriver(busyboxTarget(...a), log);
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    docker = await requireDocker();
  });
  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.detach()));
    await removeContainers(docker, names);
  });

  it('creates and starts a container, execs argv with demultiplexed output and exit code, reads its logs', async () => {
    const d = driver(containerName('exec'), ['sh', '-c', 'echo out-line; echo err-line >&2; exec sleep 600']);
    await d.start();
    const st = await d.status();
    expect(st).toMatchObject({ running: true, container: { status: 'running', oomKilled: false } });
    expect(st.pid).toBeGreaterThan(1);
    expect(await d.pids()).toContain(st.pid);

    const r = await d.exec(['sh', '-c', 'echo to-out; echo to-err >&2; exit 3'], { timeoutMs: 5000, maxOutputBytes: 1024 });
    expect(r).toEqual({ exitCode: 3, stdout: 'to-out\n', stderr: 'to-err\n', timedOut: false });
    // argv, never a shell: the `;` is an argument of echo
    expect((await d.exec(['echo', 'a;', 'rm', '-rf', '/'], { timeoutMs: 5000, maxOutputBytes: 1024 })).stdout).toBe('a; rm -rf /\n');

    const logs = await d.logs({ tail: 10 });
    expect(logs.map((l) => [l.stream, l.line])).toEqual(expect.arrayContaining([['stdout', 'out-line'], ['stderr', 'err-line']]));
    expect(logs.every((l) => l.at > Date.now() - 60_000)).toBe(true);
  });

  it('cuts a huge exec output at the bound with a marker, and kills an exec at its timeout', async () => {
    const d = driver(containerName('huge'), ['sleep', '600']);
    await d.start();
    // 16 MiB of zeros, bounded at 4 KiB each
    const big = await d.exec(['dd', 'if=/dev/zero', 'bs=1048576', 'count=16'], { timeoutMs: 20_000, maxOutputBytes: 4096 });
    expect(big.exitCode).toBe(0);
    expect(big.truncated).toBe(true);
    expect(big.stdout).toContain(TRUNCATION_MARKER);
    expect(Buffer.byteLength(big.stdout)).toBeLessThan(4096 + 200);
    const slow = await d.exec(['sleep', '30'], { timeoutMs: 300, maxOutputBytes: 1024 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
  });

  it('pushes an unexpected death from the events stream (die, exit code), restarts, and stops as expected', async () => {
    const d = driver(containerName('die'), ['sleep', '600']);
    await d.start();
    const exited = nextState(d, (s) => s.kind === 'exited');
    await docker.getContainer(d.container).kill({ signal: 'SIGKILL' });
    expect(await exited).toMatchObject({ kind: 'exited', code: 137, signal: 'SIGKILL', expected: false, oom: 'suspected' });
    expect((await d.status()).running).toBe(false);

    const started = nextState(d, (s) => s.kind === 'started');
    await d.restart();
    expect(await started).toMatchObject({ kind: 'started', restarts: 1 });
    // a stop by Homeostat is expected; signal() reaches the container's main process
    const stopped = nextState(d, (s) => s.kind === 'exited');
    await d.stop();
    expect(await stopped).toMatchObject({ expected: true });
    await d.start();
    const killed = nextState(d, (s) => s.kind === 'exited');
    // (the container's pid 1 ignores SIGTERM: it has no handler)
    await d.signal('SIGKILL');
    expect(await killed).toMatchObject({ expected: false });
  });

  it('confirms an OOM kill: over its memory limit, the container dies with 137 and OOMKilled', async () => {
    const d = driver(containerName('oom'), ['tail', '/dev/zero'], {}, { memory: '32m' });
    const exited = nextState(d, (s) => s.kind === 'exited', 20_000);
    await d.start();
    expect(await exited).toMatchObject({ kind: 'exited', code: 137, oom: 'confirmed', expected: false });
    expect((await d.status()).container).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: true });
  });

  it('reports a container that does not exist at start and picks it up once it appears', async () => {
    const name = containerName('late');
    names.push(name);
    // no `create`: the container must exist
    const cfg = { ...busyboxTarget(name, [], { retry: '200ms' }), create: undefined };
    const late = new DockerDriver(cfg, log);
    drivers.push(late);
    const failed = nextState(late, (s) => s.kind === 'start_failed');
    await expect(late.start()).rejects.toThrow(/does not exist/);
    expect(await failed).toMatchObject({ error: expect.stringContaining('does not exist') });
    const started = nextState(late, (s) => s.kind === 'started');
    await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'host' } });
    expect(await started).toMatchObject({ kind: 'started' });
    expect((await late.status()).running).toBe(true);
    // a container Homeostat did not create is left running when it stops watching
    await late.detach();
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(true);
  });

  it('updates CPU and memory limits the way the container was started (--cpus vs a CPU quota)', async () => {
    const nano = driver(containerName('cpus'), ['sleep', '600'], {}, { cpus: 1 });
    await nano.start();
    expect(await nano.updateLimits({ cpus: 0.5, memory: 64 * 1024 ** 2 })).toMatchObject({ via: 'NanoCpus' });
    let hc = (await docker.getContainer(nano.container).inspect()).HostConfig;
    expect(hc).toMatchObject({ NanoCpus: 500_000_000, Memory: 64 * 1024 ** 2 });

    const name = containerName('quota');
    names.push(name);
    await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'host', CpuPeriod: 100_000, CpuQuota: 100_000 } });
    const quota = new DockerDriver({ ...busyboxTarget(name, []), create: undefined }, log);
    drivers.push(quota);
    await quota.start();
    expect(await quota.updateLimits({ cpus: 0.25 })).toMatchObject({ via: 'CpuQuota' });
    hc = (await docker.getContainer(name).inspect()).HostConfig;
    expect(hc).toMatchObject({ CpuQuota: 25_000, CpuPeriod: 100_000 });
  });
});
