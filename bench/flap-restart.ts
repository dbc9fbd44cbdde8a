/**
 * Flap budget across engine restarts: a target crashing in a loop, its engine process SIGKILLed
 * mid-loop N times (default 20; the kill point cycles through each restart in flight and each gap
 * between restarts) and started again. Prints, per repetition and in total, the restarts the
 * target got against the flap budget (goal: never more than the budget; before the trigger state
 * lived in KV, a restart reset it).
 *
 *   npm run build && npm run bench:flap-restart            # 20 repetitions, budget 3
 *   node dist/bench/flap-restart.js 6 3                    # repetitions, budget
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BusClient, loadAclPolicy, startNatsServer } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { ActionServer, IdempotencyLedger, notifySend } from '../handlers/index.js';
import { DrillObserver, DrillWebhook } from './crash-drill.js';
import { flapDrill, writeFlapPlaybooks, type FlapKill, type FlapOutcome } from './flap-drill.js';

const REPEAT = Number(process.argv[2] ?? 20);
const BUDGET = Number(process.argv[3] ?? 3);
const log = pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
const settings = loadSettings();

const kills: FlapKill[] = [];
for (let at = 1; at <= BUDGET; at++) kills.push({ at, when: 'in_flight' }, { at, when: 'between' });

const dir = mkdtempSync(join(tmpdir(), 'homeostat-flap-'));
const nats = await startNatsServer({ dir, policy: loadAclPolicy(settings.aclFile), log });
const webhook = await DrillWebhook.start();
const handlerBus = await BusClient.connect(nats.credentials('handler'), 'handler', log);
const server = new ActionServer(handlerBus, log).register(notifySend(log, webhook.url));
await server.startDurable(await IdempotencyLedger.open(handlerBus, log));
const operator = await BusClient.connect(nats.credentials('operator'), 'operator', log);
const observer = new DrillObserver(operator);
const monitor = await BusClient.connect(nats.credentials('monitor'), 'monitor', log);
await operator.flush();
const deps = { settings, nats, monitor, observer, webhook, playbooks: writeFlapPlaybooks(dir, BUDGET), log };

const outcomes: FlapOutcome[] = [];
try {
  for (let i = 1; i <= REPEAT; i++) {
    const kill = kills[(i - 1) % kills.length]!;
    const o = await flapDrill(deps, i, BUDGET, kill);
    outcomes.push(o);
    process.stdout.write(
      `run ${String(i).padStart(2)}: engine killed ${kill.when.padEnd(9)} at restart ${kill.at} → ${o.granted} restarts granted / budget ${BUDGET}  (${o.crashes} crashes, duplicated ${o.duplicated}, escalated ${o.escalated})  ${Math.round(o.elapsedMs)} ms\n`,
    );
  }
} finally {
  await server.stop();
  await Promise.all([handlerBus.close(), operator.close(), monitor.close()]);
  await webhook.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}

const over = outcomes.filter((o) => o.granted > BUDGET).length;
const maxGranted = Math.max(...outcomes.map((o) => o.granted));
const duplicated = outcomes.reduce((n, o) => n + o.duplicated, 0);
const notEscalated = outcomes.filter((o) => !o.escalated).length;
process.stdout.write(
  `\nFlap budget across an engine restart: ${outcomes.length} repetitions (engine SIGKILLed mid-loop, started again)\n` +
    `  restarts granted, most in one loop: ${maxGranted} / budget ${BUDGET}   (goal ≤ ${BUDGET})\n` +
    `  loops given more than the budget:   ${over}   (goal 0)\n` +
    `  duplicated restarts:                ${duplicated}   (goal 0)\n` +
    `  loops not escalated:                ${notEscalated}   (goal 0: budget_exhausted published)\n`,
);
process.exitCode = over === 0 && duplicated === 0 && notEscalated === 0 ? 0 : 1;
