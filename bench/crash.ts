/**
 * SIGKILL benchmark: kills the engine process mid-run N times (default 20), cycling the kill point
 * (while the first action is in flight, while the second is, right after the event is stored),
 * restarts it, and counts duplicated actions and runs left unfinished (goal: 0 and 0).
 *
 *   npm run build && npm run bench:crash            # 20 repetitions
 *   node dist/bench/crash.js 5                      # fewer
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BusClient, loadAclPolicy, startNatsServer } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { ActionServer, IdempotencyLedger, notifySend } from '../handlers/index.js';
import { DrillObserver, DrillWebhook, KILL_POINTS, sigkillDrill, writeDrillPlaybooks, type SigkillOutcome } from './crash-drill.js';

const REPEAT = Number(process.argv[2] ?? 20);
const log = pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
const settings = loadSettings();

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'homeostat-crash-'));
const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
const webhook = await DrillWebhook.start();
const handlerBus = await BusClient.connect(nats.credentials('handler'), 'handler', log);
const server = new ActionServer(handlerBus, log).register(notifySend(log, webhook.url));
await server.startDurable(await IdempotencyLedger.open(handlerBus, log));
const operator = await BusClient.connect(nats.credentials('operator'), 'operator', log);
const observer = new DrillObserver(operator);
const monitor = await BusClient.connect(nats.credentials('monitor'), 'monitor', log);
await operator.flush();
const deps = { settings, nats, monitor, observer, webhook, playbooks: writeDrillPlaybooks(dir), log };

const outcomes: SigkillOutcome[] = [];
try {
  for (let i = 1; i <= REPEAT; i++) {
    const kp = KILL_POINTS[(i - 1) % KILL_POINTS.length]!;
    const o = await sigkillDrill(deps, i, kp);
    outcomes.push(o);
    process.stdout.write(
      `run ${String(i).padStart(2)}: kill ${kp.padEnd(13)} → ${o.unfinished ? 'UNFINISHED' : o.phase}  duplicated ${o.duplicated}  completions ${o.ends}  starts ${o.starts}  ${Math.round(o.elapsedMs)} ms\n`,
    );
  }
} finally {
  await server.stop();
  await Promise.all([handlerBus.close(), operator.close(), monitor.close()]);
  await webhook.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}

const duplicated = outcomes.reduce((n, o) => n + o.duplicated, 0);
const unfinished = outcomes.filter((o) => o.unfinished).length;
const notOnce = outcomes.filter((o) => !o.unfinished && o.ends !== 1).length;
const unannounced = outcomes.filter((o) => o.starts !== 1).length;
const replays = outcomes.map((o) => o.elapsedMs);
process.stdout.write(
  `\nSIGKILL drill: ${outcomes.length} repetitions (engine killed mid-run, restarted, run resumed from the journal)\n` +
    `  duplicated actions:        ${duplicated}   (goal 0)\n` +
    `  runs left unfinished:      ${unfinished}   (goal 0)\n` +
    `  runs completed ≠ once:     ${notOnce}   (goal 0)\n` +
    `  runs not started once:     ${unannounced}   (goal 0: one run, announced on runs.<id>.started)\n` +
    `  kill → run ended, p50/p95: ${Math.round(pct(replays, 0.5))} / ${Math.round(pct(replays, 0.95))} ms (includes two engine starts)\n`,
);
process.exitCode = duplicated === 0 && unfinished === 0 && notOnce === 0 && unannounced === 0 ? 0 : 1;
