import Docker from 'dockerode';
import type { Logger } from 'pino';
import type {
  ChaosContainerConfigData,
  ChaosContainerDataCorruptData,
  ChaosContainerDiskChainData,
  ChaosContainerKillData,
  ChaosContainerLogFillData,
  ChaosContainerOomData,
  ChaosContainerVolumeFloodData,
  ChaosContainerZombiesData,
} from '../bus/index.js';
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

  /** Runs `argv` inside the container and waits for it to end; its exit code (null when unknown). */
  async #runToEnd(container: Docker.Container, argv: string[]): Promise<number | null> {
    const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.resume();
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    return (await exec.inspect()).ExitCode ?? null;
  }

  /**
   * Writes `bytes` of zeros to `file` inside the container in one write (the disk goes from before to
   * full at once, as a monitor sees it), or, without `bytes`, 1 MiB blocks until the filesystem is full.
   */
  #fill(container: Docker.Container, file: string, bytes?: number): Promise<number | null> {
    return this.#runToEnd(container, ['dd', 'if=/dev/zero', `of=${file}`, ...(bytes ? [`bs=${bytes}`, 'count=1'] : ['bs=1048576'])]);
  }

  /** `chaos.container_log_fill`: a log file grows by `bytes` (the web log saturation of the OpsGuard tree). */
  async logFill(d: ChaosContainerLogFillData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    const exit = await this.#fill(container, d.file, d.bytes);
    this.log.warn({ target: d.target, file: d.file, bytes: d.bytes, exit }, 'log filled');
    return { target: d.target, container: name, file: d.file, bytes: d.bytes, exitCode: exit };
  }

  /** `chaos.container_volume_flood`: non-log data fills the volume until writes fail with No space left. */
  async volumeFlood(d: ChaosContainerVolumeFloodData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    const exit = await this.#fill(container, d.file);
    this.log.warn({ target: d.target, file: d.file, exit }, 'volume flooded');
    return { target: d.target, container: name, file: d.file, exitCode: exit };
  }

  /**
   * `chaos.container_disk_chain`: the disk fills with logs, then the database is stopped — both inside
   * the container in one exec (the file and sizes passed as arguments, never in the script), so the
   * stop follows the fill within a millisecond or so.
   */
  async diskChain(d: ChaosContainerDiskChainData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    const exit = await this.#runToEnd(container, ['sh', '-c', 'dd if=/dev/zero of="$1" bs="$2" count=1 2>/dev/null; kill -s "$3" 1', 'disk-chain', d.file, String(d.bytes), d.signal.replace(/^SIG/, '')]);
    this.log.warn({ target: d.target, file: d.file, bytes: d.bytes, signal: d.signal }, 'disk filled, then the container stopped');
    return { target: d.target, container: name, file: d.file, bytes: d.bytes, exitCode: exit, signal: d.signal };
  }

  /** `chaos.container_data_corrupt`: random bytes over the head of a data file (not truncated). */
  async dataCorrupt(d: ChaosContainerDataCorruptData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    const exit = await this.#runToEnd(container, ['dd', 'if=/dev/urandom', `of=${d.file}`, `bs=${d.bytes}`, 'count=1', 'conv=notrunc']);
    this.log.warn({ target: d.target, file: d.file, bytes: d.bytes, exit }, 'data corrupted');
    return { target: d.target, container: name, file: d.file, bytes: d.bytes, exitCode: exit };
  }

  /** `chaos.container_oom`: the demo app's leak is switched on; it outgrows its memory limit. */
  async oom(d: ChaosContainerOomData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    await this.#run(container, ['touch', '/tmp/leak']);
    return { target: d.target, container: name };
  }

  /** `chaos.container_kill`: `docker kill --signal`. */
  async kill(d: ChaosContainerKillData): Promise<Record<string, unknown>> {
    const { container, name } = this.#of(d.target);
    await container.kill({ signal: d.signal });
    return { target: d.target, container: name, signal: d.signal };
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
