#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigFileError, formatProblem, loadSettings, SettingsError } from '../config/index.js';
import { runningTracing, startTracing } from '../telemetry/index.js';
import { BusError } from '../bus/index.js';
import { ACTION_CATALOGUE } from '../handlers/index.js';
import { loadPlaybookFile } from '../playbooks/index.js';
import { ChaosAgent, ChaosEndpoints, TargetError } from '../targets/index.js';
import { startHeartbeat } from '../bus/index.js';
import { registerApprovalCommands, registerPlaybookCommands } from './control-commands.js';
import { registerTargetCommands } from './target-commands.js';
import { CliError } from './errors.js';
import { createLogger } from './logger.js';
import { acquireHomeLock, removeChildPidFile, REAPER, StackError, startOrphanReaper, startStack, stopLeftovers, type OrphanReaper, type Stack } from '../stack/index.js';
import { stressCommand } from './stress-command.js';
import { aclMonitorCommand } from './acl-monitor-command.js';
import { incidentsCommand, runbookCommand, runsCommand } from './history-commands.js';
import { activeRunsCommand } from './active-runs-command.js';
import { StoreError } from '../store/index.js';
import { engineCommand, handlerCommand } from './component-commands.js';
import { alertsCommand } from './alerts-command.js';
import { diagnoseCommand } from './diagnose-command.js';


const settings = loadSettings();

/** Single-quotes a value for a POSIX shell (`eval $(homeostat creds ROLE)`). */
function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

/** `homeostat creds intake`: the HTTP intake's URL and bearer token, with a curl line. */
function intakeCreds(): string {
  const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
  const info = join(settings.home, 'run', 'intake.json');
  const url = existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as { url: string }).url : `http://127.0.0.1:${settings.httpPort || 'PORT'}`;
  return (
    `export HOMEOSTAT_INTAKE_URL=${shellQuote(url)};\nexport HOMEOSTAT_INTAKE_TOKEN=${shellQuote(token)};\n\n` +
    `# example:\n# curl -sS -H "Authorization: Bearer $HOMEOSTAT_INTAKE_TOKEN" -H 'content-type: application/json' ` +
    `-d '{"incident_id":"inc-1","container_name":"worker-1","alert_type":"HighErrorRate","severity":"critical","logs":"","timestamp":"2026-01-01T00:00:00Z"}' $HOMEOSTAT_INTAKE_URL/incidents\n`
  );
}

/** `homeostat creds dashboard`: the dashboard's URL with the operator token in its fragment (never sent to the server). */
function dashboardCreds(): string {
  const token = readFileSync(settings.dashboardTokenFile, 'utf8').trim();
  const info = join(settings.home, 'run', 'intake.json');
  const url = existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as { url: string }).url : `http://127.0.0.1:${settings.httpPort || 'PORT'}`;
  return (
    `# open in a browser (the token lets the page approve, reject and reset budgets; viewing needs none):\n${url}/dashboard/#token=${token}\n\n` +
    `export HOMEOSTAT_DASHBOARD_TOKEN=${shellQuote(token)};\n`
  );
}

const program = new Command()
  .name('homeostat')
  .description('A self-healing layer for the services a team runs.')
  .showHelpAfterError();

/** Commands that run components: each starts the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set, named after the component. */
const TRACED_COMMANDS: Record<string, string> = { up: 'homeostat', engine: 'homeostat-engine', handler: 'homeostat-handler', 'chaos-agent': 'homeostat-chaos-agent', 'acl-monitor': 'homeostat-acl-monitor', stress: 'homeostat-stress' };
program.hook('preAction', (_root, action) => {
  const serviceName = TRACED_COMMANDS[action.name()];
  if (serviceName && settings.otlpEndpoint) startTracing({ endpoint: settings.otlpEndpoint, serviceName, log: createLogger(settings) });
});

program
  .command('up')
  .description('run the stack in the foreground: nats-server, monitors, engine, handlers, chaos agent, targets')
  .option('--cluster <n>', 'run nats-server as a cluster of N nodes on loopback (JetStream replicas min(N, 5)); ignored with NATS_URL', positiveInt)
  .action(async (o: { cluster?: number }) => {
    const log = createLogger(settings);
    const runDir = join(settings.home, 'run');
    // one `up` per home; a previous one that was SIGKILLed may have left children behind
    const lock = acquireHomeLock(settings.home);
    let reaper: OrphanReaper | null = null;
    let stack: Stack;
    try {
      await stopLeftovers(runDir, log);
      reaper = startOrphanReaper(runDir, settings.root);
      stack = await startStack({ settings, log, dir: runDir, pidDir: runDir, ...(o.cluster ? { cluster: o.cluster } : {}) });
    } catch (e) {
      reaper?.disarm();
      lock.release();
      throw e;
    }
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'stopping');
      await stack.stop();
      await runningTracing()?.shutdown();
      reaper.disarm();
      lock.release();
      log.flush();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    if (stack.nats) log.info(`credentials for nats pub/sub: homeostat creds operator`);
    if (stack.web) log.info(`HTTP server (alert intake, /healthz) on ${stack.web.url}; token: homeostat creds intake`);
    if (stack.web) log.info(`dashboard on ${stack.web.url}/dashboard/ (viewing is open on 127.0.0.1; to approve from the page: homeostat creds dashboard)`);
  });

program
  .command('stress')
  .description('run stress scenarios (all when none named) and print the scorecard')
  .argument('[scenarios...]', 'scenario ids, e.g. S01')
  .option('--repeat <n>', 'runs per scenario', positiveInt, 1)
  .option('--json <file>', 'write the JSON report here')
  .option('--markdown <file>', 'write a Markdown report here')
  .option('--attach', 'score the running `homeostat up` (its operator login) instead of starting a fresh stack per run')
  .action(async (ids: string[], o: { repeat: number; json?: string; markdown?: string; attach?: boolean }) => {
    const log = createLogger({ ...settings, logLevel: settings.logLevel === 'info' ? 'warn' : settings.logLevel });
    process.exitCode = await stressCommand({ ids, ...o }, settings, log);
  });

program
  .command('creds')
  .description('print the server URL and a role\'s user and password, for nats pub / nats sub')
  .argument('<role>', 'monitor, engine, handler, chaos, operator, target, an actor of the policy, `intake` (the HTTP intake\'s URL and token) or `dashboard` (the dashboard\'s URL with its operator token)')
  .action((role: string) => {
    if (role === 'intake' && existsSync(settings.intakeTokenFile)) {
      process.stdout.write(intakeCreds());
      return;
    }
    if (role === 'dashboard') {
      if (!existsSync(settings.dashboardTokenFile)) throw new CliError(`no dashboard token at ${settings.dashboardTokenFile}: start Homeostat first with \`homeostat up\``);
      process.stdout.write(dashboardCreds());
      return;
    }
    const file = join(settings.home, 'run', 'credentials.json');
    if (!existsSync(file)) throw new CliError(`no credentials at ${file}: start Homeostat first with \`homeostat up\``);
    const creds = JSON.parse(readFileSync(file, 'utf8')) as { url: string; users: Record<string, string> };
    const pass = creds.users[role];
    if (!pass) throw new CliError(`no role or actor "${role}" (known: ${Object.keys(creds.users).join(', ')})`);
    process.stdout.write(
      // `export` lines: `eval $(homeostat creds operator)` sets them for natscli and for homeostat's own commands
      `export NATS_URL=${shellQuote(creds.url)};\nexport NATS_USER=${shellQuote(role)};\nexport NATS_PASSWORD=${shellQuote(pass)};\n\n` +
        `# example:\n# nats pub --server ${creds.url} --user ${role} --password ${shellQuote(pass)} chaos.heartbeat_pause '{"target":"worker-1","seconds":30}'\n`,
    );
  });

program
  .command('alerts')
  .description('recent alerts the HTTP intake took in (Alertmanager, POST /incidents) and the event each became')
  .option('--limit <n>', 'how many, newest first', positiveInt, 50)
  .option('--json', 'print JSON')
  .action(async (o: { limit: number; json?: boolean }) => {
    await alertsCommand(settings, o);
  });

const playbooks = program.command('playbooks').description('check playbooks');
playbooks
  .command('validate')
  .description('check playbook files; prints file:line:col: message for every problem')
  .argument('[paths...]', 'playbook files (default: the playbook library)')
  .action(async (paths: string[]) => {
    const { readdirSync, statSync } = await import('node:fs');
    const expand = (p: string) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(p, f)) : [p]);
    const files = (paths.length ? paths : [settings.playbooksDir]).flatMap(expand);
    let bad = 0;
    for (const f of files) {
      try {
        loadPlaybookFile(f, { actions: ACTION_CATALOGUE });
        process.stdout.write(`${f}: ok\n`);
      } catch (e) {
        if (!(e instanceof ConfigFileError)) throw e;
        bad++;
        for (const p of e.problems) process.stdout.write(`${formatProblem(p)}\n`);
      }
    }
    process.exitCode = bad ? 1 : 0;
  });
registerPlaybookCommands(playbooks, settings);
registerTargetCommands(program, settings);
registerApprovalCommands(program, settings);

const historyLog = () => createLogger({ ...settings, logLevel: settings.logLevel === 'info' ? 'warn' : settings.logLevel });
program
  .command('diagnose [incidentId]')
  .description('ask the LLM providers (HOMEOSTAT_LLM_*) for the root cause of a recorded incident and the playbook to run; advice only, stored with the incident')
  .option('--json', 'print JSON')
  .option('--playbooks <names>', 'the allow-list, comma-separated (default: every playbook without a diagnose step)')
  .option('--evaluate <set>', 'run a labelled incident set (e.g. diagnosis/evaluation/incidents.yaml): agreement of the model and of the rules, latency p50/p95, cost')
  .action(async (incidentId: string | undefined, o: { json?: boolean; playbooks?: string; evaluate?: string }) => {
    process.exitCode = await diagnoseCommand(incidentId, o, settings, createLogger({ ...settings, logLevel: settings.logLevel === 'info' ? 'warn' : settings.logLevel }));
  });

program
  .command('incidents')
  .description('recorded incidents, newest first (related events of one target and family, and what was done)')
  .option('--status <status>', 'only open, remediating, resolved, failed or stopped incidents')
  .option('--target <name>', 'only this target')
  .option('--limit <n>', 'how many', positiveInt, 50)
  .option('--json', 'JSON for scripts')
  .action(async (o: { status?: string; target?: string; limit: number; json?: boolean }) => {
    process.exitCode = await incidentsCommand(o, settings, historyLog());
  });
program
  .command('runs')
  .description('recorded runs, newest first; with an ID (or a unique prefix), that run\'s steps, outputs and timings')
  .argument('[id]', 'run id or unique prefix')
  .option('--incident <id>', 'only runs of this incident')
  .option('--limit <n>', 'how many', positiveInt, 50)
  .option('--active', 'the runs the running engines hold now, waiting ones first (asked on engine.runs.active)')
  .option('--json', 'JSON for scripts')
  .action(async (id: string | undefined, o: { incident?: string; limit: number; active?: boolean; json?: boolean }) => {
    if (o.active && id) throw new CliError('--active lists the active runs: give no run id with it');
    process.exitCode = o.active ? await activeRunsCommand(o, settings, historyLog()) : await runsCommand(id, o, settings, historyLog());
  });
program
  .command('approvals')
  .description('the runs waiting for approval now: step, action, parameters, risk, time left (asked on engine.runs.active)')
  .option('--json', 'JSON for scripts')
  .action(async (o: { json?: boolean }) => {
    process.exitCode = await activeRunsCommand({ ...o, waitingOnly: true }, settings, historyLog());
  });
program
  .command('runbook')
  .description('for each event signature: which playbooks ran and how they ended')
  .option('--signature <subject>', 'only this event signature, e.g. events.heartbeat.missed')
  .option('--json', 'JSON for scripts')
  .action(async (o: { signature?: string; json?: boolean }) => {
    process.exitCode = await runbookCommand(o, settings, historyLog());
  });

program
  .command('chaos-agent', { hidden: true })
  .description('run the chaos agent alone (started by `homeostat up`)')
  .requiredOption('--targets <names>', 'comma-separated target names the agent may break')
  .option('--pid-dir <dir>', "where the targets' pid files are (process faults)")
  .option('--endpoints <json>', 'data-service targets\' host/port (and application role), for redis_fill and pg_exhaust', '{}')
  .action(async (o: { targets: string; pidDir?: string; endpoints: string }) => {
    const log = createLogger(settings);
    if (!settings.natsUrl) throw new CliError('the chaos agent needs NATS_URL (and HOMEOSTAT_NATS_USER / HOMEOSTAT_NATS_PASSWORD)');
    const agent = await ChaosAgent.start(
      { url: settings.natsUrl, user: settings.natsUser || undefined, password: settings.natsPassword || undefined },
      o.targets.split(',').filter(Boolean),
      log,
      settings.chaosActors,
      o.pidDir,
      ChaosEndpoints.parse(JSON.parse(o.endpoints)),
    );
    const stopBeat = startHeartbeat(agent.bus, 'chaos-agent', 1000);
    const stop = async () => {
      stopBeat();
      await agent.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  });

program
  .command('reap', { hidden: true })
  .description("stop the children a dead `homeostat up` left running, from its run directory's pid files (run by the orphan reaper)")
  .requiredOption('--dir <dir>', 'the run directory ($HOMEOSTAT_HOME/run)')
  .action(async (o: { dir: string }) => {
    const log = createLogger(settings);
    const stopped = await stopLeftovers(o.dir, log);
    removeChildPidFile(o.dir, REAPER, process.pid);
    log.warn({ stopped }, 'homeostat up died; its children were stopped');
  });

program
  .command('acl-monitor', { hidden: true })
  .description('run the ACL monitor alone on a nats-server log (used by the acl-flood benchmark)')
  .requiredOption('--log <file>', "nats-server's log file")
  .option('--from <where>', 'start at the "end" (default) or the "start" of the file', 'end')
  .action(async (o: { log: string; from: string }) => {
    if (o.from !== 'end' && o.from !== 'start') throw new CliError('--from is "end" or "start"');
    await aclMonitorCommand({ log: o.log, from: o.from }, settings, createLogger(settings));
  });

program
  .command('engine', { hidden: true })
  .description('run the playbook engine alone on the durable bus (NATS_URL + engine login); resumes unfinished runs')
  .option('--playbooks <dir>', 'playbook directory (default: the library)')
  .option('--ack-wait <ms>', 'redeliver an event not acknowledged within this time', positiveInt)
  .action(async (o: { playbooks?: string; ackWait?: number }) => {
    await engineCommand({ playbooks: o.playbooks, ackWaitMs: o.ackWait }, settings, createLogger(settings));
  });

program
  .command('handler', { hidden: true })
  .description('run a notify.send handler alone on the durable bus (NATS_URL + handler login, HOMEOSTAT_WEBHOOK_URL)')
  .action(async () => {
    await handlerCommand(settings, createLogger(settings));
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CliError || e instanceof ConfigFileError || e instanceof SettingsError || e instanceof BusError || e instanceof TargetError || e instanceof StoreError || e instanceof StackError) {
    process.stderr.write(`homeostat: ${e.message}\n`);
    process.exit(e instanceof CliError ? e.exitCode : 2);
  }
  throw e;
}
