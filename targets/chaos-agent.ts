/**
 * The chaos agent: breaks things on purpose. It connects with the `chaos` role's own
 * credentials, subscribes to `chaos.>`, and shares no code path with the handlers
 * (it never uses a target driver). It learns target pids from the pid files the process driver
 * keeps (`<pidDir>/<name>.pid`, checked against the process's start time) and, for targets that
 * heartbeat, from their heartbeats.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { BusClient, ChaosAclSpamData, ChaosHeartbeatPauseData, ChaosProcessKillData, ChaosProcessPauseData, HeartbeatData, heartbeatComponent, subjects, type Credentials, type Envelope } from '../bus/index.js';
import { AclSpamFault } from './acl-spam-fault.js';
import { readPidFile } from './pid-file.js';
import { readProc } from './process-tree.js';
import { readProcUsage } from './process-usage.js';
import { ChaosCpuSpikeData, ChaosPgExhaustData, ChaosRedisFillData } from '../bus/index.js';
import { DataServiceFaults, type ChaosEndpoints } from './data-service-faults.js';
import { requestCpuSpike } from './cpu-spike-fault.js';
import {
  ChaosContainerConfigData,
  ChaosContainerDataCorruptData,
  ChaosContainerDiskChainData,
  ChaosContainerKillData,
  ChaosContainerLogFillData,
  ChaosContainerOomData,
  ChaosContainerVolumeFloodData,
  ChaosContainerZombiesData,
} from '../bus/index.js';
import { DockerFaults, type ChaosContainer } from './docker-faults.js';

interface Fault<S extends z.ZodType> {
  schema: S;
  run(data: z.infer<S>, env: Envelope<z.infer<S>>): Promise<Record<string, unknown>>;
}

export class ChaosAgent {
  readonly #pids = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #faults = new Map<string, Fault<z.ZodType>>();
  readonly #aclSpam: AclSpamFault;
  readonly #data: DataServiceFaults;

  private constructor(
    readonly bus: BusClient,
    readonly targets: readonly string[],
    readonly log: Logger,
    creds: Credentials,
    actors: Readonly<Record<string, string>>,
    readonly pidDir: string | undefined,
    endpoints: ChaosEndpoints,
  ) {
    this.#data = new DataServiceFaults(endpoints, log);
    this.#register('redis_fill', { schema: ChaosRedisFillData, run: (d) => this.#data.redisFill(d) });
    this.#register('pg_exhaust', { schema: ChaosPgExhaustData, run: (d) => this.#data.pgExhaust(d) });
    const containers: Record<string, ChaosContainer> = {};
    for (const [name, list] of Object.entries(endpoints)) for (const e of list) if (e.kind === 'container') containers[name] = { socket: e.socket, container: e.container };
    const docker = new DockerFaults(containers, log);
    this.#register('container_oom', { schema: ChaosContainerOomData, run: (d) => docker.oom(d) });
    this.#register('container_kill', { schema: ChaosContainerKillData, run: (d) => docker.kill(d) });
    this.#register('container_zombies', { schema: ChaosContainerZombiesData, run: (d) => docker.zombies(d) });
    this.#register('container_config_corrupt', { schema: ChaosContainerConfigData, run: (d) => docker.configCorrupt(d) });
    this.#register('container_log_fill', { schema: ChaosContainerLogFillData, run: (d) => docker.logFill(d) });
    this.#register('container_volume_flood', { schema: ChaosContainerVolumeFloodData, run: (d) => docker.volumeFlood(d) });
    this.#register('container_disk_chain', { schema: ChaosContainerDiskChainData, run: (d) => docker.diskChain(d) });
    this.#register('container_data_corrupt', { schema: ChaosContainerDataCorruptData, run: (d) => docker.dataCorrupt(d) });
    this.#register('heartbeat_pause', { schema: ChaosHeartbeatPauseData, run: (d) => this.#heartbeatPause(d) });
    this.#aclSpam = new AclSpamFault(creds.url, actors, log, (o) => bus.publish(subjects.event('chaos', 'acl_spam_ended'), 'chaos.acl_spam_ended', o, { target: o.actor }));
    this.#register('acl_spam', { schema: ChaosAclSpamData, run: (d) => this.#aclSpam.start(d) });
    this.#register('process_kill', { schema: ChaosProcessKillData, run: (d) => this.#processKill(d) });
    this.#register('process_pause', { schema: ChaosProcessPauseData, run: (d) => this.#processPause(d) });
    this.#register('cpu_spike', {
      schema: ChaosCpuSpikeData,
      run: (d) => {
        this.#pidOf(d.target);
        return requestCpuSpike(this.bus, d);
      },
    });
  }

  /**
   * @param actors logins of the policy's named actors (never of a role), for faults that act as
   *   an outside actor, e.g. `chaos.acl_spam`.
   * @param pidDir where the targets' pid files are (`<stack dir>/targets`), for the process faults.
   * @param endpoints host/port (and application role) of the data-service targets, for `redis_fill` and `pg_exhaust`.
   */
  static async start(creds: Credentials, targets: readonly string[], log: Logger, actors: Readonly<Record<string, string>> = {}, pidDir?: string, endpoints: ChaosEndpoints = {}): Promise<ChaosAgent> {
    const bus = await BusClient.connect(creds, 'chaos-agent', log);
    const agent = new ChaosAgent(bus, targets, log.child({ component: 'chaos-agent' }), creds, actors, pidDir, endpoints);
    bus.subscribe(subjects.heartbeatAll, HeartbeatData, (env) => {
      const name = heartbeatComponent(env.subject) ?? env.source;
      if (env.data.pid && agent.targets.includes(name)) agent.#pids.set(name, env.data.pid);
    });
    bus.subscribe(subjects.chaosAll, z.unknown(), (env, msg) => agent.#dispatch(env, msg), { acceptBare: true });
    await bus.flush();
    return agent;
  }

  #register<S extends z.ZodType>(name: string, fault: Fault<S>): void {
    this.#faults.set(name, fault);
  }

  async #dispatch(env: Envelope<unknown>, msg: Parameters<BusClient['deadletter']>[0]): Promise<void> {
    const faultName = msg.subject.split('.')[1] ?? '';
    const fault = this.#faults.get(faultName);
    if (!fault) {
      this.bus.deadletter(msg, `unknown fault "${faultName}" (known: ${[...this.#faults.keys()].join(', ')})`);
      return;
    }
    const data = fault.schema.safeParse(env.data);
    if (!data.success) {
      this.bus.deadletter(msg, `invalid chaos.${faultName}: ${data.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
      return;
    }
    try {
      const detail = await fault.run(data.data, env);
      this.log.warn({ fault: faultName, ...detail }, 'fault injected');
      this.bus.publish(subjects.event('chaos', 'injected'), 'chaos.injected', { fault: faultName, ...detail });
    } catch (e) {
      this.bus.deadletter(msg, `chaos.${faultName} refused: ${(e as Error).message}`);
    }
  }

  /** The target's main pid: from its pid file (start time checked), else from its heartbeats. */
  #pidOf(target: string): number {
    if (!this.targets.includes(target)) throw new Error(`"${target}" is not a registered target (${this.targets.join(', ')})`);
    const fromFile = this.pidDir ? readPidFile(this.pidDir, target) : null;
    const pid = fromFile?.pid ?? this.#pids.get(target);
    if (!pid) throw new Error(`no pid file ${this.pidDir ? `in ${this.pidDir} ` : ''}and no heartbeat seen from "${target}", so its pid is unknown (is it running?)`);
    if (pid === 1 || pid === process.pid || pid === process.ppid) throw new Error(`pid ${pid} is not a target process`);
    return pid;
  }

  /** SIGSTOPs the target's main process (its heartbeat stops). */
  async #heartbeatPause(d: ChaosHeartbeatPauseData): Promise<Record<string, unknown>> {
    return this.#pause(d.target, d.seconds, false);
  }

  async #processKill(d: ChaosProcessKillData): Promise<Record<string, unknown>> {
    const pid = this.#pidOf(d.target);
    if (!readProc(pid)) throw new Error(`process ${pid} of "${d.target}" is gone`);
    process.kill(pid, d.signal);
    return { target: d.target, pid, signal: d.signal };
  }

  /** SIGSTOPs the target's whole process group (a hang of the whole service). */
  async #processPause(d: ChaosProcessPauseData): Promise<Record<string, unknown>> {
    return this.#pause(d.target, d.seconds, true);
  }

  /**
   * SIGSTOPs the target's main process (or its whole process group), and SIGCONTs it after
   * `seconds` only if it is still the very same process (same start time): a restarted target is left alone.
   */
  #pause(target: string, seconds: number, wholeGroup: boolean): Record<string, unknown> {
    const pid = this.#pidOf(target);
    const before = readProc(pid);
    if (!before) throw new Error(`process ${pid} of "${target}" is gone`);
    // the process driver starts each target as the leader of its own process group
    const group = wholeGroup && readProcUsage(pid)?.pgid === pid ? -pid : pid;
    process.kill(group, 'SIGSTOP');
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const now = readProc(pid);
      if (now && now.startTime === before.startTime) {
        process.kill(group, 'SIGCONT');
        this.log.info({ target, pid }, 'pause over: SIGCONT');
      }
    }, seconds * 1000);
    this.#timers.add(timer);
    return { target, pid, seconds, ...(wholeGroup ? { group: group < 0 } : {}) };
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    await this.#aclSpam.stop();
    await this.#data.stop();
    await this.bus.close();
  }
}
