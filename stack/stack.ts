import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  BusClient,
  HeartbeatData,
  loadAclPolicy,
  startHeartbeat,
  startNatsServer,
  startNatsCluster,
  subjects,
  type Credentials,
  type ManagedNatsServer,
  type ManagedNatsCluster,
} from '../bus/index.js';
import type { Settings } from '../config/index.js';
import {
  ActionServer,
  DataServiceGuard,
  postgresConnections,
  postgresTerminateIdle,
  redisFlushall,
  redisMemory,
  redisPurge,
  ACTION_REGISTRY,
  HeartbeatTracker,
  IdempotencyLedger,
  loadNotifyConfig,
  notifySend,
  NotifyRouter,
  LifecycleNotifier,
  ProcessGuard,
  processKill,
  processKillRunaway,
  processRenice,
  processRestart,
  processThrottle,
  processTop,
  resourceCpu,
  targetHealth,
  ContainerGuard,
  containerCpuLimit,
  containerExec,
  containerRestart,
  containersPrune,
  containerState,
  logsClean,
} from '../handlers/index.js';
import { ContainerMonitor, HealthMonitor, loadMonitorsConfig, ResourceMonitor } from '../monitors/index.js';
import { loadPlaybookDir, openTriggerState, PlaybookEngine, refuseUnserved, RunJournal, watchPlaybookLibrary, type LoadedPlaybook } from '../playbooks/index.js';
import { openDiagnoser } from '../diagnosis/index.js';
import { chaosEndpoints, loadTargets, processTree, TargetRegistry, type ChaosEndpoints, type TargetConfig } from '../targets/index.js';
import { activeBlacklist, actorLogins, blacklistStoreIn, startAclDefence, type AclDefence } from './acl-defence.js';
import { claimStackIdentity } from './stack-identity.js';
import { componentEnv } from './component-env.js';
import { writeChildPidFile } from './child-pid-files.js';
import { wireDashboard } from './dashboard-wiring.js';
import { ensureIntakeToken, startWebServer, type IntakeTimings, type WebServer } from '../web/index.js';
import { HistoryService, openStore, Recorder, type Store, type TargetImpact } from '../store/index.js';
import { BusMetrics } from '../telemetry/index.js';

export interface StackOptions {
  settings: Readonly<Settings>;
  log: Logger;
  /** Override the targets file. */
  targets?: TargetConfig[];
  playbooks?: LoadedPlaybook[];
  /** Runtime directory for this stack; a fresh temporary one (removed on stop) when omitted. */
  dir?: string;
  /** Start the chaos agent (a separate process with the chaos role's credentials). */
  chaos?: boolean;
  componentHeartbeatMs?: number;
  /**
   * Record incidents, runs and the runbook (the recorder and its store). Default: on when
   * DATABASE_URL is set or the stack has a runtime directory (`homeostat up`); off for throwaway
   * stacks on the embedded store, which would otherwise share (and lock) `$HOMEOSTAT_HOME/store`.
   */
  record?: boolean;
  /** The embedded store's directory (default `settings.storeDir`). */
  storeDir?: string;
  /**
   * Record the children's pid files here (`nats-server.pid`, `chaos-agent.pid`), so a later
   * `homeostat up` or the orphan reaper can stop them if this process dies (`homeostat up`: the run dir).
   */
  pidDir?: string;
  /** Start the HTTP server (alert intake, /healthz, the dashboard) on 127.0.0.1:`settings.httpPort` (default true). */
  web?: boolean;
  /** Samples the intake's stages into this (benchmarks: where an accept's time goes). */
  intakeTimings?: IntakeTimings;
  /** Serve the dashboard from that server (default true; off, its feed does not listen: `bench:dashboard` measures its cost so). */
  dashboard?: boolean;
  /**
   * Run nats-server as a cluster of this many nodes on loopback (`homeostat up --cluster 3`):
   * routes between all, JetStream streams and KV buckets with min(N, 5) replicas, components given
   * the node list. Ignored with NATS_URL (then HOMEOSTAT_JS_REPLICAS sets the replicas).
   */
  cluster?: number;
}

export interface Stack {
  nats: ManagedNatsServer | null;
  /** The cluster when started with `cluster` ≥ 2 (the same object as `nats`). */
  cluster: ManagedNatsCluster | null;
  natsUrl: string;
  credentials(role: string): Credentials;
  registry: TargetRegistry;
  engine: PlaybookEngine;
  /** Runs the targets' declared checks and reports unexpected exits. */
  healthMonitor: HealthMonitor;
  handlerBus: BusClient;
  /** ACL monitor, nats-server log tail and blacklist. */
  acl: AclDefence;
  /** The history store and its recorder; null when the stack does not record. */
  store: Store | null;
  recorder: Recorder | null;
  resourceMonitor: ResourceMonitor;
  /** Notification sinks of notify.yaml (counters per sink). */
  notifier: NotifyRouter;
  /** The HTTP server (alert intake); null when started with `web: false`. */
  web: WebServer | null;
  /** Homeostat's own processes (this one, its nats-server, its chaos agent): never killed or throttled. */
  homeostatPids(): number[];
  /** Pids of every process the stack started (nats-server, targets' trees, chaos agent). */
  pids(): number[];
  stop(): Promise<void>;
}

/** A target's downtime cost per minute and manual MTTR (its `impact` in targets.yaml). */
function impactOf(targets: readonly TargetConfig[], name: string): TargetImpact | undefined {
  const i = targets.find((t) => t.name === name)?.impact;
  return i ? { costPerMinute: i.costPerMinute, manualMttrMs: i.manualMttr } : undefined;
}

/**
 * Starts the whole stack: nats-server (unless NATS_URL is set), targets, handlers, monitors,
 * the playbook engine and the chaos agent. Every component connects with its own role.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { settings, log } = opts;
  const targets = opts.targets ?? loadTargets(settings.targetsFile);
  const playbooks = opts.playbooks ?? loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
  const policy = loadAclPolicy(settings.aclFile);
  const monitorsConfig = loadMonitorsConfig(settings.monitorsFile);
  const homeostatPids: number[] = [process.pid];
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'homeostat-'));
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ err: e }, 'error while stopping');
      }
    }
    cleanups.length = 0;
  };
  try {
    let nats: ManagedNatsServer | null = null;
    let cluster: ManagedNatsCluster | null = null;
    const blacklistStore = blacklistStoreIn(dir);
    const blocked = settings.natsUrl ? new Set<string>() : activeBlacklist(blacklistStore);
    if (!settings.natsUrl) {
      if ((opts.cluster ?? 1) >= 2) nats = cluster = await startNatsCluster({ dir, policy, log, blocked, size: opts.cluster! });
      else nats = await startNatsServer({ dir, policy, log, blocked });
      const n = nats;
      homeostatPids.push(...(cluster ? cluster.nodes.map((x) => x.pid) : [n.pid]));
      // cleanups run newest first: the pid file goes once the server has stopped
      if (opts.pidDir) {
        const d = opts.pidDir;
        if (cluster) for (const [i, node] of cluster.nodes.entries()) cleanups.push(writeChildPidFile(d, `nats-server-${i}`, node.pid, node.configFile));
        else cleanups.push(writeChildPidFile(d, 'nats-server', n.pid, n.configFile));
      }
      cleanups.push(() => n.stop());
      if (ownDir) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    }
    const credentials = (role: string): Credentials => (nats ? nats.credentials(role) : { url: settings.natsUrl!, replicas: settings.jsReplicas });
    const beatMs = opts.componentHeartbeatMs ?? 1000;

    const registry = await TargetRegistry.create(targets, { targetCredentials: credentials('target'), dir, log });
    cleanups.push(() => registry.stopAll());

    const handlerBus = await BusClient.connect(credentials('handler'), 'handler', log);
    cleanups.push(() => handlerBus.close());
    const tracker = new HeartbeatTracker(handlerBus);
    const server = new ActionServer(handlerBus, log.child({ component: 'handler' }));
    // notification sinks (notify.yaml): each HTTP sink has its own queue; notify.send answers once queued
    const notifyConfig = loadNotifyConfig(settings.notifyFile);
    const notifier = new NotifyRouter(notifyConfig, log.child({ component: 'notify' }), settings.webhookUrl);
    cleanups.push(() => notifier.close());
    // lifecycle notifications per incident (received … resolved/failed), each stage switchable in notify.yaml
    new LifecycleNotifier(handlerBus, notifier, notifyConfig.lifecycle, log.child({ component: 'notify' })).start();
    server.register(processRestart(registry), targetHealth(registry, tracker), notifySend(log.child({ component: 'notify' }), notifier));
    const guard = new ProcessGuard({ registry, homeostatPids: () => homeostatPids });
    server.register(
      processTop(registry, guard),
      processThrottle(registry, guard),
      processKillRunaway(registry, guard),
      processKill(guard),
      processRenice(guard),
      resourceCpu(),
    );
    const dataGuard = new DataServiceGuard(registry);
    server.register(redisPurge(dataGuard), redisFlushall(dataGuard), redisMemory(dataGuard), postgresTerminateIdle(dataGuard), postgresConnections(dataGuard));
    const containerGuard = new ContainerGuard(registry);
    server.register(containerRestart(containerGuard), containerExec(containerGuard), logsClean(containerGuard), containersPrune(containerGuard), containerCpuLimit(containerGuard), containerState(containerGuard));
    // durable bus: action requests through HOMEOSTAT_ACTIONS, each idempotency key executed once
    await server.startDurable(await IdempotencyLedger.open(handlerBus, log));
    cleanups.push(() => server.stop());
    cleanups.push(startHeartbeat(handlerBus, 'handler', beatMs));

    const monitorBus = await BusClient.connect(credentials('monitor'), 'monitor', log);
    monitorBus.useDurableEvents(); // events kept and retried until HOMEOSTAT_EVENTS stores them
    cleanups.push(() => monitorBus.close());
    const healthMonitor = new HealthMonitor({ bus: monitorBus, targets: registry.all(), log: log.child({ component: 'health-monitor' }) });
    cleanups.push(() => healthMonitor.stop());
    const containerMonitor = new ContainerMonitor({ bus: monitorBus, targets: registry.all(), log: log.child({ component: 'container-monitor' }) });
    cleanups.push(() => containerMonitor.stop());
    const resourceMonitor = new ResourceMonitor({
      bus: monitorBus,
      config: monitorsConfig.resource,
      roots: () => registry.roots(),
      log: log.child({ component: 'resource-monitor' }),
    });
    cleanups.push(() => resourceMonitor.stop());
    cleanups.push(startHeartbeat(monitorBus, 'monitor', beatMs));

    const acl = await startAclDefence({ settings, log, policy, nats, credentials, handlerBus, actions: server, store: blacklistStore, applied: blocked });
    cleanups.push(() => acl.stop());
    // every handler is registered: refuse a playbook naming an action none serves (e.g. bus.blacklist without a managed nats-server)
    refuseUnserved(playbooks, server.actions, opts.playbooks ? 'playbooks' : settings.playbooksDir);

    const engineBus = await BusClient.connect(credentials('engine'), 'engine', log);
    cleanups.push(() => engineBus.close());
    if (settings.natsUrl) {
      // a shared bus: one stack per identity (its own server is already one per home)
      const id = await claimStackIdentity(engineBus, settings.identity, log);
      cleanups.push(() => id.release());
    }
    const journal = await RunJournal.open(engineBus, log);
    const llm = openDiagnoser(settings.llm, log.child({ component: 'diagnosis' }));
    const triggerState = await openTriggerState(engineBus);
    const engine = new PlaybookEngine({ bus: engineBus, playbooks, log: log.child({ component: 'engine' }), journal, triggerState, diagnoser: llm.diagnoser, diagnoserUnavailable: llm.unavailable });
    // durable bus: events through HOMEOSTAT_EVENTS; unfinished runs of the journal resume first
    await engine.startDurable();
    cleanups.push(() => engine.stop());
    if (!opts.playbooks) cleanups.push(watchPlaybookLibrary(engine, settings.playbooksDir, { actions: ACTION_REGISTRY, served: server.actions }, playbooks));
    cleanups.push(startHeartbeat(engineBus, 'engine', beatMs));
    await Promise.all([handlerBus.flush(), monitorBus.flush(), engineBus.flush()]);

    let store: Store | null = null;
    let recorder: Recorder | null = null;
    if (opts.record ?? (Boolean(settings.databaseUrl) || !ownDir)) {
      const st = await openStore({ databaseUrl: settings.databaseUrl, storeDir: opts.storeDir ?? settings.storeDir, log, durability: 'relaxed' });
      cleanups.push(() => st.close());
      const recorderBus = await BusClient.connect(credentials('recorder'), 'recorder', log);
      cleanups.push(() => recorderBus.close());
      const rec = new Recorder({ bus: recorderBus, store: st, log: log.child({ component: 'recorder' }), impact: (target) => impactOf(targets, target) });
      await rec.start();
      cleanups.push(() => rec.stop());
      new HistoryService(recorderBus, st, log.child({ component: 'history' })).start();
      cleanups.push(startHeartbeat(recorderBus, 'recorder', beatMs));
      store = st;
      recorder = rec;
      // the engine prefers, among playbooks of equal priority, the fix that worked last time
      try {
        engine.runbook.load(await st.runbook());
      } catch (e) {
        log.warn({ err: e }, 'runbook not loaded; the engine learns from the runs it sees');
      }
    }

    let chaos: ChildProcess | null = null;
    if (opts.chaos ?? true) {
      chaos = await startChaosAgent(settings, credentials('chaos'), registry.names, join(dir, 'targets'), monitorBus, log, actorLogins(policy, nats, settings), chaosEndpoints(registry.all().map((t) => ({ name: t.config.name, checks: t.checks, ...(t.config.driver === 'docker' ? { container: { socket: t.config.socket, container: t.config.container ?? t.config.name } } : {}) }))));
      const c = chaos;
      if (c.pid) homeostatPids.push(c.pid);
      if (opts.pidDir && c.pid) cleanups.push(writeChildPidFile(opts.pidDir, 'chaos-agent', c.pid, 'chaos-agent'));
      cleanups.push(() => stopChild(c));
    }

    let web: WebServer | null = null;
    if (opts.web ?? true) {
      const intakeBus = await BusClient.connect(credentials('intake'), 'intake', log);
      cleanups.push(() => intakeBus.close());
      const dashboard = (opts.dashboard ?? true) ? await wireDashboard({ settings, log, credentials, registry, healthMonitor }) : null;
      if (dashboard) cleanups.push(() => dashboard.stop());
      const metrics = new BusMetrics({ bus: intakeBus, impact: (t) => impactOf(targets, t), storeQueueDepth: () => recorder?.stats().queued });
      metrics.start();
      const w = await startWebServer({ bus: intakeBus, token: ensureIntakeToken(settings.intakeTokenFile), log, port: settings.httpPort, ...(dashboard ? { dashboard: dashboard.options } : {}), metrics, ...(opts.intakeTimings ? { timings: opts.intakeTimings } : {}) });
      cleanups.push(() => w.close());
      cleanups.push(startHeartbeat(intakeBus, 'intake', beatMs));
      writeFileSync(join(dir, 'intake.json'), JSON.stringify({ url: w.url, tokenFile: settings.intakeTokenFile, dashboard: `${w.url}/dashboard/`, dashboardTokenFile: settings.dashboardTokenFile }) + '\n', { mode: 0o600 });
      web = w;
    }

    // the monitor hears every start and failed start: a target that cannot start is reported, not fatal
    healthMonitor.start();
    containerMonitor.start();
    await registry.startAll();
    resourceMonitor.start();
    log.info({ nats: nats?.url ?? settings.natsUrl, http: web?.url, targets: registry.names, playbooks: playbooks.map((p) => p.playbook.name) }, 'homeostat is up');

    return {
      nats,
      cluster,
      natsUrl: nats?.url ?? settings.natsUrl!,
      credentials,
      registry,
      engine,
      healthMonitor,
      handlerBus,
      acl,
      store,
      recorder,
      resourceMonitor,
      web,
      notifier,
      homeostatPids: () => [...homeostatPids],
      pids: () => [
        ...(nats ? [nats.pid] : []),
        ...(chaos?.pid ? [chaos.pid] : []),
        ...registry.all().flatMap((t) => (t.running && t.pid ? processTree(t.pid) : [])),
      ],
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** Runs the chaos agent as its own process, with the chaos role's credentials only. */
async function startChaosAgent(settings: Readonly<Settings>, creds: Credentials, targetNames: string[], pidDir: string, watch: BusClient, log: Logger, actors: Record<string, string> = {}, endpoints: ChaosEndpoints = {}): Promise<ChildProcess> {
  const ready = new Promise<void>((resolve) => {
    const sub = watch.subscribe(subjects.heartbeat('chaos-agent'), HeartbeatData, () => {
      sub.unsubscribe();
      resolve();
    });
  });
  const child = spawn(process.execPath, [join(settings.root, 'dist', 'cli', 'main.js'), 'chaos-agent', '--targets', targetNames.join(','), '--pid-dir', pidDir, '--endpoints', JSON.stringify(endpoints)], {
    env: componentEnv(creds, { HOMEOSTAT_CHAOS_ACTORS: JSON.stringify(actors) }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`chaos agent exited at start (code ${code})`))),
  );
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('chaos agent did not beat within 10 s')), 10_000).unref());
  try {
    await Promise.race([ready, exited, timeout]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  log.info({ pid: child.pid }, 'chaos agent started');
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}
