import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerCrashedData, ZombieOutbreakData } from '../bus/index.js';
import { HOMEOSTAT_LABEL, rootCauseOf, TargetRegistry } from '../targets/index.js';
import { BUSYBOX_IMAGE, busyboxTarget, containerName, removeContainers, requireDocker } from '../test/docker.js';
import { nextMessage, setup } from '../test/setup.js';
import { ContainerMonitor } from './index.js';

describe('root cause of a container death', () => {
  const line = (l: string) => ({ at: 0, stream: 'stderr' as const, line: l });
  it('reads the tag from the exit and the newest matching log line', () => {
    expect(rootCauseOf({ code: 137, oom: 'confirmed' }, [], null).rootCause).toBe('oom_killed');
    expect(rootCauseOf({ code: 1 }, [line('FATAL: could not write: No space left on device')], null)).toEqual({ rootCause: 'disk_full', evidence: 'FATAL: could not write: No space left on device' });
    expect(rootCauseOf({ code: 1 }, [line('error in configuration file "/etc/app.conf" line 3')], null).rootCause).toBe('config_error');
    expect(rootCauseOf({ code: 1 }, [line('page 42: checksum mismatch')], null).rootCause).toBe('data_corruption');
    expect(rootCauseOf({ code: 1 }, [line('PANIC: could not locate a valid checkpoint record')], null).rootCause).toBe('data_corruption');
    expect(rootCauseOf({ code: 0 }, [line('bye')], 91).rootCause).toBe('disk_full');
    expect(rootCauseOf({ code: 2 }, [line('bye')], 20)).toEqual({ rootCause: 'unknown', evidence: null });
  });
});

describe('container monitor (real dockerd, real nats-server)', () => {
  let docker: Docker;
  const names: string[] = [];
  beforeAll(async () => {
    docker = await requireDocker();
  });
  afterAll(async () => {
    await removeContainers(docker, names);
  });

  it('publishes a death with its root-cause tag from the last logs, and an OOM kill as events.container.oom_killed', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator');
    const conf = containerName('conf');
    const oom = containerName('oom');
    names.push(conf, oom);
    const reg = await TargetRegistry.create(
      [
        busyboxTarget('db', ['sh', '-c', 'sleep 0.3; echo "FATAL: syntax error in configuration file /etc/db.conf" >&2; exit 1'], { container: conf }),
        busyboxTarget('app', ['sh', '-c', 'sleep 0.3; exec tail /dev/zero'], { container: oom }, { memory: '32m' }),
      ],
      { targetCredentials: { url: '' }, log: ctx.log },
    );
    ctx.defer(() => reg.stopAll());
    const monitor = new ContainerMonitor({ bus, targets: reg.all(), log: ctx.log });
    monitor.start();
    ctx.defer(() => monitor.stop());
    const crashed = nextMessage(watcher, 'events.container.crashed', (e) => e.target === 'db', 20_000, ContainerCrashedData);
    const oomKilled = nextMessage(watcher, 'events.container.oom_killed', (e) => e.target === 'app', 20_000, ContainerCrashedData);
    await watcher.flush();
    await reg.startAll();
    expect((await crashed).data).toMatchObject({ container: conf, exitCode: 1, rootCause: 'config_error', evidence: expect.stringContaining('configuration file') });
    expect((await oomKilled).data).toMatchObject({ container: oom, exitCode: 137, rootCause: 'oom_killed', oom: 'confirmed' });
  });

  it("reports more than 5 exited containers carrying Homeostat's label as a zombie outbreak", async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('monitor');
    const watcher = await ctx.connect('operator');
    const target = containerName('t');
    names.push(target);
    const reg = await TargetRegistry.create([busyboxTarget('svc', ['sleep', '600'], { container: target })], { targetCredentials: { url: '' }, log: ctx.log });
    ctx.defer(() => reg.stopAll());
    const monitor = new ContainerMonitor({ bus, targets: reg.all(), log: ctx.log, intervalMs: 200 });
    const outbreak = nextMessage(watcher, 'events.container.zombie_outbreak', (e) => e.target === 'svc', 20_000, ZombieOutbreakData);
    await watcher.flush();
    await reg.startAll();
    monitor.start();
    ctx.defer(() => monitor.stop());
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const name = containerName('zombie');
        names.push(name);
        const c = await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: ['true'], Labels: { [HOMEOSTAT_LABEL]: 'true' }, HostConfig: { NetworkMode: 'host' } });
        await c.start();
        await c.wait();
      }),
    );
    const e = await outbreak;
    expect(e.data.exited).toBeGreaterThan(5);
    expect(e.data.threshold).toBe(5);
  });
});
