import type { Logger } from 'pino';
import { BusClient, loadAclPolicy, ROLES, startHeartbeat } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { AclLogSource, AclMonitor, loadAclMonitorConfig } from '../monitors/index.js';
import { CliError } from './errors.js';

/**
 * `homeostat acl-monitor --log FILE`: the ACL monitor as its own process, tailing a nats-server
 * log and logging in with the monitor role (NATS_URL, HOMEOSTAT_NATS_USER/PASSWORD). On SIGTERM
 * it prints its counters as one JSON line on stdout and exits.
 */
export async function aclMonitorCommand(o: { log: string; from: 'end' | 'start' }, settings: Readonly<Settings>, log: Logger): Promise<void> {
  if (!settings.natsUrl) throw new CliError('the ACL monitor needs NATS_URL (and HOMEOSTAT_NATS_USER / HOMEOSTAT_NATS_PASSWORD of the monitor role)');
  const policy = loadAclPolicy(settings.aclFile);
  const bus = await BusClient.connect({ url: settings.natsUrl, user: settings.natsUser || undefined, password: settings.natsPassword || undefined }, 'acl-monitor', log);
  const monitor = new AclMonitor(bus, {
    config: loadAclMonitorConfig(settings.aclMonitorFile),
    known: { roles: ROLES, actors: Object.keys(policy.actors) },
    subscribe: [],
    log: log.child({ component: 'acl-monitor' }),
  });
  monitor.start();
  const source = new AclLogSource(bus, o.log, (v) => monitor.record(v), { log: log.child({ component: 'acl-log' }), from: o.from });
  source.start();
  await bus.flush();
  const stopBeat = startHeartbeat(bus, 'acl-monitor', 1000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    stopBeat();
    await source.drain();
    source.stop();
    monitor.stop();
    await bus.close();
    process.stdout.write(JSON.stringify({ source: source.counters, monitor: monitor.stats }) + '\n', () => process.exit(0));
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
