import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateUsers } from './acl-policy.js';
import { NatsServerStartError } from './errors.js';
import { freePort, startNatsServer, type Credentials, type ManagedNatsServer, type StartNatsServerOptions } from './nats-server.js';

/** A nats-server cluster on loopback: one node per process, routes between all, JetStream on each. */
export interface ManagedNatsCluster extends ManagedNatsServer {
  /** The nodes, in start order; `url` lists them all (`nats://127.0.0.1:p1,nats://127.0.0.1:p2,…`). */
  readonly nodes: readonly ManagedNatsServer[];
  /** JetStream replicas of the streams and KV buckets Homeostat creates (the node count, at most 3… 5). */
  readonly replicas: number;
  /** Kills one node (SIGKILL, the fault tests); the others keep serving. */
  killNode(i: number): Promise<void>;
  /** Starts a killed or stopped node again on its ports, config and JetStream store. */
  restartNode(i: number): Promise<void>;
}

export type StartNatsClusterOptions = Omit<StartNatsServerOptions, 'port' | 'cluster' | 'users'> & { size: number };

/** How long the cluster may take to elect its JetStream meta leader. */
const META_LEADER_TIMEOUT_MS = 20_000;

/**
 * Starts `size` nats-server nodes on loopback with cluster routes between them (each node in
 * `dir/node-<i>`), one set of users for all, and waits until JetStream has a meta leader (streams
 * and KV buckets can then be created with `replicas` = min(size, 5)). Clients get the node list as
 * their URL and fail over between nodes.
 */
export async function startNatsCluster(opts: StartNatsClusterOptions): Promise<ManagedNatsCluster> {
  if (opts.size < 2) throw new NatsServerStartError(`a cluster needs at least 2 nodes (got ${opts.size}); use startNatsServer for one`);
  const users = generateUsers(opts.policy);
  const routePorts: number[] = [];
  const clientPorts: number[] = [];
  for (let i = 0; i < opts.size; i++) {
    routePorts.push(await freePort());
    clientPorts.push(await freePort());
  }
  const replicas = Math.min(opts.size, 5);
  const nodes: ManagedNatsServer[] = [];
  try {
    // started together: a node waits for its routes, JetStream for a quorum
    const started = await Promise.all(
      clientPorts.map((port, i) => {
        const dir = join(opts.dir, `node-${i}`);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        return startNatsServer({ ...opts, dir, port, users, cluster: { name: 'homeostat', port: routePorts[i]!, routes: routePorts.filter((_, j) => j !== i), replicas } });
      }),
    );
    nodes.push(...started);
    await waitForMetaLeader(nodes);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    throw e;
  }
  const url = nodes.map((n) => n.url).join(',');
  const first = nodes[0]!;
  // what `homeostat creds` reads: the node list and the logins (0600), as for one server
  const credentialsFile = join(opts.dir, 'credentials.json');
  writeFileSync(credentialsFile, JSON.stringify({ url, users: Object.fromEntries(users.map((u) => [u.user, u.password])) }, null, 2), { mode: 0o600 });
  const killed = new Set<number>();
  opts.log?.info({ url, pids: nodes.map((n) => n.pid), replicas }, 'nats-server cluster started');
  return {
    url,
    nodes,
    replicas,
    get pid() {
      return first.pid;
    },
    configFile: first.configFile,
    logFile: first.logFile,
    monitorUrl: first.monitorUrl,
    users,
    credentials(user: string): Credentials {
      return { ...first.credentials(user), url, replicas };
    },
    async reload(blocked) {
      for (const [i, n] of nodes.entries()) if (!killed.has(i)) await n.reload(blocked);
    },
    async stop() {
      rmSync(credentialsFile, { force: true });
      await Promise.all(nodes.map((n) => n.stop()));
    },
    async restart(whileDown) {
      await Promise.all(nodes.map((n) => n.stop()));
      await whileDown?.();
      await Promise.all(nodes.map((n) => n.restart()));
      killed.clear();
      await waitForMetaLeader(nodes);
    },
    async killNode(i) {
      const n = nodes[i];
      if (!n) throw new NatsServerStartError(`no node ${i} (the cluster has ${nodes.length})`);
      process.kill(n.pid, 'SIGKILL');
      killed.add(i);
      await n.stop();
    },
    async restartNode(i) {
      const n = nodes[i];
      if (!n) throw new NatsServerStartError(`no node ${i} (the cluster has ${nodes.length})`);
      await n.restart();
      killed.delete(i);
    },
  };
}

/** Resolves once a node reports a JetStream meta leader (`/jsz`), so streams can be created. */
async function waitForMetaLeader(nodes: readonly ManagedNatsServer[]): Promise<void> {
  const deadline = Date.now() + META_LEADER_TIMEOUT_MS;
  for (;;) {
    for (const n of nodes) {
      try {
        const res = await fetch(`${n.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { meta_cluster?: { leader?: string } };
        if (body.meta_cluster?.leader) return;
      } catch {
        /* that node is not answering yet */
      }
    }
    if (Date.now() > deadline) throw new NatsServerStartError(`the nats-server cluster elected no JetStream meta leader within ${META_LEADER_TIMEOUT_MS / 1000} s (logs in ${nodes.map((n) => n.logFile).join(', ')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
