import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DockerDriver, type TargetStateChange } from './index.js';
import { BUSYBOX_IMAGE, busyboxTarget, copyImage, privateDockerd, requireDocker } from '../test/docker.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('docker driver: the engine goes away and comes back (a private dockerd, stopped and started)', () => {
  it('reports unreachable, resumes the watch when dockerd returns, and reconciles the death it missed', async () => {
    const main = await requireDocker();
    await using engine = await privateDockerd();
    await copyImage(main, engine.docker, BUSYBOX_IMAGE);
    const d = new DockerDriver(busyboxTarget('away', ['sleep', '600'], { socket: engine.socketPath }), log);
    const seen: TargetStateChange['kind'][] = [];
    const waitFor = (kind: TargetStateChange['kind']) =>
      new Promise<TargetStateChange>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${kind} within 30 s (saw ${seen.join(', ')})`)), 30_000);
        const off = d.onState((s) => {
          if (s.kind !== kind) return;
          clearTimeout(t);
          off();
          resolve(s);
        });
      });
    d.onState((s) => seen.push(s.kind));
    try {
      await d.start();
      expect((await d.status()).running).toBe(true);
      const pid = (await d.status()).pid!;
      const unreachable = waitFor('unreachable');
      // live-restore: the container outlives dockerd
      await engine.stop();
      expect(await unreachable).toMatchObject({ error: expect.stringContaining(engine.socketPath) });
      expect(d.engineReachable).toBe(false);
      // the container dies while nobody watches: no event stream can deliver this death
      expect(seen).not.toContain('exited');
      const exited = waitFor('exited');
      process.kill(pid, 'SIGKILL');
      const back = waitFor('reachable');
      await engine.start();
      await back;
      // after the reconnect the container is read again: its death during the outage is reported
      expect(await exited).toMatchObject({ kind: 'exited', expected: false });
      expect(d.engineReachable).toBe(true);
      // and the watch resumed: a start is pushed again
      const started = waitFor('started');
      await engine.docker.getContainer('away').start();
      expect(await started).toMatchObject({ kind: 'started' });
    } finally {
      await d.detach();
    }
  }, 90_000);
});
