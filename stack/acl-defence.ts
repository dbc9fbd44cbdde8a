import { join } from 'node:path';
import type { Logger } from 'pino';
import { BusClient, ROLES, subjects, type AclPolicy, type AclViolationSource, type Credentials, type ManagedNatsServer } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import {
  aclAssess,
  aclQuiet,
  Blacklist,
  busBlacklist,
  busPing,
  busUnblacklist,
  JsonFileBlacklistStore,
  ViolationLedger,
  type ActionServer,
  type BlacklistStore,
} from '../handlers/index.js';
import { AclLogSource, AclMonitor, loadAclMonitorConfig } from '../monitors/index.js';

/** The bus's self-defence: violation sources, the ACL monitor, and the blacklist handlers. */
export interface AclDefence {
  monitor: AclMonitor;
  /** The nats-server log tail; null when Homeostat does not manage the server. */
  source: AclLogSource | null;
  blacklist: Blacklist | null;
  ledger: ViolationLedger;
  stop(): Promise<void>;
}

/** The blacklist file in a runtime directory. */
export function blacklistStoreIn(dir: string): BlacklistStore {
  return new JsonFileBlacklistStore(join(dir, 'blacklist.json'));
}

/** Actors a store still blacklists now (to start nats-server without them). */
export function activeBlacklist(store: BlacklistStore): Set<string> {
  const now = Date.now();
  return new Set(store.load().filter((e) => Date.parse(e.expiresAt) > now).map((e) => e.actor));
}

/** Logins of the policy's named actors (never a role's), for the chaos agent. */
export function actorLogins(policy: AclPolicy, nats: ManagedNatsServer | null, settings: Readonly<Settings>): Record<string, string> {
  if (!nats) return { ...settings.chaosActors };
  return Object.fromEntries(Object.keys(policy.actors).map((a) => [a, nats.credentials(a).password ?? '']));
}

export interface AclDefenceOptions {
  settings: Readonly<Settings>;
  log: Logger;
  policy: AclPolicy;
  nats: ManagedNatsServer | null;
  credentials(role: string): Credentials;
  handlerBus: BusClient;
  actions: ActionServer;
  store: BlacklistStore;
  /** Actors nats-server was started without. */
  applied: ReadonlySet<string>;
}

/**
 * Wires the ACL defence into a stack. With a managed nats-server the monitor tails its log
 * (and does not count self-reports, which would count a violation twice); with an outside
 * server it counts the clients' self-reports, and there is no blacklist.
 */
export async function startAclDefence(o: AclDefenceOptions): Promise<AclDefence> {
  const counted: AclViolationSource[] = o.nats ? ['nats-log'] : ['self-report'];
  const bus = await BusClient.connect(o.credentials('monitor'), 'acl-monitor', o.log);
  bus.useDurableEvents(); // events kept and retried until HOMEOSTAT_EVENTS stores them
  const monitor = new AclMonitor(bus, {
    config: loadAclMonitorConfig(o.settings.aclMonitorFile),
    known: { roles: ROLES, actors: Object.keys(o.policy.actors) },
    subscribe: o.nats ? [] : ['self-report'],
    log: o.log.child({ component: 'acl-monitor' }),
  });
  monitor.start();
  const source = o.nats ? new AclLogSource(bus, o.nats.logFile, (v) => monitor.record(v), { log: o.log.child({ component: 'acl-log' }) }) : null;
  source?.start();

  const ledger = new ViolationLedger(o.handlerBus, counted);
  const blacklist = o.nats
    ? await Blacklist.open({
        server: o.nats,
        store: o.store,
        applied: o.applied,
        log: o.log.child({ component: 'blacklist' }),
        onLifted: (e, why) => o.handlerBus.publish(subjects.event('handler', 'blacklist_lifted'), 'handler.blacklist_lifted', { ...e, why }, { target: e.actor }),
      })
    : null;
  o.actions.register(aclAssess(ledger, blacklist), aclQuiet(ledger), busPing(o.handlerBus));
  if (blacklist) o.actions.register(busBlacklist(blacklist), busUnblacklist(blacklist));
  await bus.flush();

  return {
    monitor,
    source,
    blacklist,
    ledger,
    async stop() {
      blacklist?.stop();
      source?.stop();
      monitor.stop();
      await bus.close();
    },
  };
}
