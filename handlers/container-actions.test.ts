import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOMEOSTAT_LABEL, TargetRegistry } from '../targets/index.js';
import { BUSYBOX_IMAGE, busyboxTarget, containerName, removeContainers, requireDocker } from '../test/docker.js';
import { ContainerGuard, ContainerRefusedError, containersPrune, logsClean } from './index.js';

const log = pino({ level: 'silent' });
const ctx = { actionId: 'a1', log };

describe('container actions (real dockerd)', () => {
  let docker: Docker;
  let dir: string;
  const names: string[] = [];
  beforeAll(async () => {
    docker = await requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'hs-logs-'));
  });
  afterAll(async () => {
    await removeContainers(docker, names);
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs.clean truncates files inside the declared log directory only: `..`, symlinks and outside paths are refused', async () => {
    const logDir = join(dir, 'web');
    mkdirSync(join(logDir, 'old'), { recursive: true });
    writeFileSync(join(logDir, 'access.log'), 'x'.repeat(5000));
    writeFileSync(join(logDir, 'old', 'access.1.log'), 'y'.repeat(3000));
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'keep me');
    symlinkSync(secret, join(logDir, 'link.log'));
    symlinkSync(dir, join(logDir, 'up'));
    const name = containerName('web');
    const reg = await TargetRegistry.create([busyboxTarget('web', ['sleep', '1'], { container: name, logDir }), busyboxTarget('plain', ['sleep', '1'], { container: `${name}-p` })], { targetCredentials: { url: '' }, log });
    const clean = logsClean(new ContainerGuard(reg));

    for (const [path, rule] of [
      ['../secret.txt', 'dot-dot'],
      ['old/../../secret.txt', 'dot-dot'],
      [secret, 'outside-log-dir'],
      ['link.log', 'symlink'],
      ['up/secret.txt', 'symlink'],
    ] as const) {
      await expect(clean.run({ target: 'web', path }, ctx), path).rejects.toMatchObject({ name: 'ContainerRefusedError', rule });
    }
    await expect(clean.run({ target: 'plain' }, ctx)).rejects.toBeInstanceOf(ContainerRefusedError);
    expect(readFileSync(secret, 'utf8')).toBe('keep me');

    const one = await clean.run({ target: 'web', path: 'old/access.1.log' }, ctx);
    expect(one.result).toMatchObject({ files: 1, bytesFreed: 3000, logDir });
    // the whole directory: regular files only, the links are not followed
    const all = await clean.run({ target: 'web' }, ctx);
    expect(all.result).toMatchObject({ files: 2, bytesFreed: 5000 });
    expect(typeof all.result!['usedPctAfter']).toBe('number');
    expect(readFileSync(join(logDir, 'access.log'), 'utf8')).toBe('');
    expect(readFileSync(secret, 'utf8')).toBe('keep me');
  });

  it("containers.prune removes only exited containers with Homeostat's label, never a registered target's", async () => {
    const make = async (labelled: boolean, run = false) => {
      const name = containerName('z');
      names.push(name);
      const c = await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: run ? ['sleep', '600'] : ['true'], Labels: labelled ? { [HOMEOSTAT_LABEL]: 'true' } : {}, HostConfig: { NetworkMode: 'host' } });
      await c.start();
      if (!run) await c.wait();
      return name;
    };
    const zombies = await Promise.all([make(true), make(true), make(true)]);
    const foreign = await make(false);
    const running = await make(true, true);
    const registered = await make(true);
    const reg = await TargetRegistry.create([busyboxTarget('db', [], { container: registered })], { targetCredentials: { url: '' }, log });
    const out = await containersPrune(new ContainerGuard(reg)).run({ target: 'db' }, ctx);
    expect(out.result!['removed']).toEqual(expect.arrayContaining(zombies));
    const left = (await docker.listContainers({ all: true })).map((c) => c.Names[0]!.slice(1));
    for (const z of zombies) expect(left).not.toContain(z);
    expect(left).toEqual(expect.arrayContaining([foreign, running, registered]));
  });
});
