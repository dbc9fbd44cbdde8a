import Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ChaosContainerConfigData, ChaosContainerOomData, ChaosContainerZombiesData } from '../bus/index.js';
import { HOMEOSTAT_LABEL } from './config.js';

/** What the chaos agent knows of a docker target: its engine's socket and its container's name. */
export interface ChaosContainer {
  socket: string;
  container: string;
}

/**
 * The chaos agent's Docker faults. Its own API client and code path: it never uses the docker
 * driver or a handler (breaking and healing stay apart).
 */
export class DockerFaults {
  readonly #clients = new Map<string, Docker>();

  constructor(
    private readonly containers: Readonly<Record<string, ChaosContainer>>,
    private readonly log: Logger,
  ) {}

  #of(target: string): { docker: Docker; container: Docker.Container; name: string } {
    const c = this.containers[target];
    if (!c) throw new Error(`"${target}" is not a docker target`);
    let docker = this.#clients.get(c.socket);
    if (!docker) this.#clients.set(c.socket, (docker = new Docker({ socketPath: c.socket })));
    return { docker, container: docker.getContainer(c.container), name: c.container };
  }

  async #run(container: Docker.Container, argv: string[]): Promise<void> {
    const exec = await container.exec({ Cmd: argv, AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
  }

  /** `chaos.container_oom`: the demo app's leak is switched on; it outgrows its memory limit. */
  async oom(d: ChaosContainerOomData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    await this.#run(container, ['touch', '/tmp/leak']);
    return { target: d.target, container: name };
  }

  /** `chaos.container_zombies`: `count` labelled containers that exit at once. */
  async zombies(d: ChaosContainerZombiesData): Promise<Record<string, unknown>> {
    const { docker, container, name } = this.#of(d.target);
    const image = (await container.inspect()).Config.Image;
    const made = await Promise.all(
      Array.from({ length: d.count }, async (_, i) => {
        const c = await docker.createContainer({ name: `${name}-zombie-${Date.now().toString(36)}-${i}`, Image: image, Cmd: ['true'], Labels: { [HOMEOSTAT_LABEL]: 'true', 'homeostat.chaos': 'zombie' }, HostConfig: { NetworkMode: 'host' } });
        await c.start();
        return c;
      }),
    );
    this.log.warn({ target: d.target, count: made.length }, 'zombie containers started');
    return { target: d.target, count: made.length };
  }

  /** `chaos.container_config_corrupt`: a broken config line, then the container is made to re-read it (SIGHUP). */
  async configCorrupt(d: ChaosContainerConfigData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    await this.#run(container, ['sh', '-c', `echo 'corrupt = = =' >> ${d.file}`]);
    await new Promise((r) => setTimeout(r, 50));
    await container.kill({ signal: 'SIGHUP' });
    return { target: d.target, container: name, file: d.file };
  }
}
