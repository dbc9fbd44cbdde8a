import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerTargetSchema, type DockerTargetConfig } from '../targets/config.js';

/** The engine the Docker tests use (`.ci/run` starts it and builds the images with targets/docker-images.sh). */
export const DOCKER_SOCKET = '/var/run/docker.sock';
export const BUSYBOX_IMAGE = 'homeostat/busybox:1';

/**
 * Fails with the reason when no Docker engine answers or the test image is missing: the Docker
 * tests never skip silently (CI starts dockerd; see .ci/run).
 */
export async function requireDocker(socketPath = DOCKER_SOCKET): Promise<Docker> {
  const docker = new Docker({ socketPath });
  try {
    await docker.ping();
  } catch (e) {
    throw new Error(`no Docker engine answers at ${socketPath} (${(e as Error).message}): start dockerd (.ci/run does) to run the Docker tests`);
  }
  try {
    await docker.getImage(BUSYBOX_IMAGE).inspect();
  } catch {
    throw new Error(`image ${BUSYBOX_IMAGE} is missing: run targets/docker-images.sh`);
  }
  return docker;
}

/** A unique container name for one test. */
export function containerName(what: string): string {
  return `hs-test-${what}-${randomBytes(3).toString('hex')}`;
}

/** A docker target that creates its container from the busybox image. */
export function busyboxTarget(name: string, command: string[], extra: Record<string, unknown> = {}, create: Record<string, unknown> = {}): DockerTargetConfig {
  return DockerTargetSchema.parse({ name, driver: 'docker', stopGrace: '1s', ...extra, create: { image: BUSYBOX_IMAGE, command, ...create } });
}

/** Removes the test's containers, whatever state they are in. */
export async function removeContainers(docker: Docker, names: string[]): Promise<void> {
  await Promise.all(names.map((n) => docker.getContainer(n).remove({ force: true }).catch(() => undefined)));
}

/**
 * A private dockerd (own socket, data and exec roots, no bridge or iptables, live-restore so its
 * containers outlive it) that a test may stop and start again without touching the machine's
 * engine. Released with `await using`: its containers removed, stopped, its directory deleted.
 */
export interface PrivateDockerd extends AsyncDisposable {
  socketPath: string;
  docker: Docker;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function privateDockerd(): Promise<PrivateDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'hs-dockerd-'));
  const socketPath = join(dir, 'docker.sock');
  const docker = new Docker({ socketPath });
  let child: ChildProcess | null = null;
  const start = async () => {
    const out = openSync(join(dir, 'dockerd.log'), 'a');
    child = spawn('dockerd', ['--host', `unix://${socketPath}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '--bridge', 'none', '--iptables=false', '--ip6tables=false', '--live-restore', '--log-level', 'warn'], { stdio: ['ignore', out, out] });
    for (let end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      if (await docker.ping().then(() => true, () => false)) return;
    }
    throw new Error(`the private dockerd did not answer within 30 s (see ${join(dir, 'dockerd.log')})`);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  };
  await start();
  return {
    socketPath,
    docker,
    stop,
    start,
    async [Symbol.asyncDispose]() {
      if (!child) await start().catch(() => undefined);
      const all = await docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      await stop();
      spawnSync('umount', ['-l', join(dir, 'exec', 'netns', 'default')], { stdio: 'ignore' });
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* a mount dockerd left behind: the directory is under tmpdir */
      }
    },
  };
}

/** Copies an image of the machine's engine into another engine. */
export async function copyImage(from: Docker, to: Docker, image: string): Promise<void> {
  const stream = await from.getImage(image).get();
  const load = await to.loadImage(stream);
  await new Promise((resolve, reject) => to.modem.followProgress(load, (e) => (e ? reject(e) : resolve(undefined))));
}
