import type { Logger } from 'pino';
import { BusClient, startHeartbeat, type Credentials } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { ActionServer, ACTION_REGISTRY, IdempotencyLedger, notifySend, servedActions } from '../handlers/index.js';
import { loadPlaybookDir, openTriggerState, PlaybookEngine, refuseUnserved, RunJournal } from '../playbooks/index.js';
import { openDiagnoser } from '../diagnosis/index.js';
import { CliError } from './errors.js';
import { runningTracing } from '../telemetry/index.js';

function ownCredentials(settings: Readonly<Settings>, what: string): Credentials {
  if (!settings.natsUrl) throw new CliError(`the ${what} needs NATS_URL (and HOMEOSTAT_NATS_USER / HOMEOSTAT_NATS_PASSWORD of its role)`);
  return { url: settings.natsUrl, user: settings.natsUser || undefined, password: settings.natsPassword || undefined, replicas: settings.jsReplicas };
}

/** Stops `stop` on SIGTERM/SIGINT, then exits 0. */
function onSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void stop()
      .then(() => runningTracing()?.shutdown())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/**
 * `homeostat engine`: the playbook engine as its own process (engine role, NATS_URL and
 * HOMEOSTAT_NATS_USER/PASSWORD). It refuses a playbook naming an action no running handler serves
 * (asked on `actions.served`), resumes the journal's unfinished runs, then takes events from
 * the durable bus; it beats on `heartbeat.engine` once it is taking events.
 */
export async function engineCommand(o: { playbooks?: string; ackWaitMs?: number }, settings: Readonly<Settings>, log: Logger): Promise<void> {
  const bus = await BusClient.connect(ownCredentials(settings, 'engine'), 'engine', log);
  const dir = o.playbooks ?? settings.playbooksDir;
  const playbooks = loadPlaybookDir(dir, { actions: ACTION_REGISTRY });
  // a playbook naming an action no running handler serves would validate, then fail at run time
  try {
    const served = await servedActions(bus);
    if (!served.components.length) throw new CliError(`no handler answered on actions.served: start the handlers before the engine (playbooks in ${dir} need ${[...new Set(playbooks.flatMap((p) => p.actionRefs.map((r) => r.action)))].join(', ')})`);
    refuseUnserved(playbooks, served.actions, dir);
  } catch (e) {
    await bus.close();
    throw e;
  }
  const journal = await RunJournal.open(bus, log);
  const llm = openDiagnoser(settings.llm, log.child({ component: 'diagnosis' }));
  const triggerState = await openTriggerState(bus);
  const engine = new PlaybookEngine({ bus, playbooks, log: log.child({ component: 'engine' }), journal, triggerState, diagnoser: llm.diagnoser, diagnoserUnavailable: llm.unavailable });
  await engine.startDurable({ ackWaitMs: o.ackWaitMs });
  await bus.flush();
  const stopBeat = startHeartbeat(bus, 'engine', 1000);
  log.info({ pid: process.pid, playbooks: playbooks.map((p) => p.playbook.name) }, 'engine is up');
  onSignals(log, async () => {
    stopBeat();
    await engine.stop();
    await bus.close();
  });
}

/**
 * `homeostat handler`: a remediator process serving `notify.send` (webhook from
 * HOMEOSTAT_WEBHOOK_URL) from the durable bus, with the idempotency ledger; handler role login.
 * Used by the fault tests to kill a handler mid-action.
 */
export async function handlerCommand(settings: Readonly<Settings>, log: Logger): Promise<void> {
  const bus = await BusClient.connect(ownCredentials(settings, 'handler'), 'handler', log);
  const server = new ActionServer(bus, log.child({ component: 'handler' }));
  server.register(notifySend(log.child({ component: 'notify' }), settings.webhookUrl));
  await server.startDurable(await IdempotencyLedger.open(bus, log));
  await bus.flush();
  const stopBeat = startHeartbeat(bus, 'handler', 1000);
  log.info({ pid: process.pid, actions: server.actions }, 'handler is up');
  onSignals(log, async () => {
    stopBeat();
    await server.stop();
    await bus.close();
  });
}
