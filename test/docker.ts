import { randomBytes } from 'node:crypto';
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
