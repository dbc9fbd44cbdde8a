/**
 * The flap drill: a target crashing in a loop, its engine SIGKILLed mid-loop and started again.
 * Used by the fault test (cli/flap-restart.test.ts) and the benchmark (bench/flap-restart.ts).
 *
 * Each crash is a durable `events.drill.crash` event for the target; the `flap-drill` playbook
 * "restarts" it with one `notify.send` POSTed to the drill webhook, which stands in for the target
 * and counts every restart it gets. The crash comes back as soon as a restart ends, until the
 * engine refuses (flap budget spent: `events.playbook.budget_exhausted`). The figure: restarts the
 * target got across the engine restart, against the budget (they must not exceed it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BudgetExhaustedData, EnvelopeSchema, newId, publishDurable } from '../bus/index.js';
import { spawnComponent, type DrillProcess, type SigkillDrillDeps } from './crash-drill.js';

/** The playbook of the drill: at most `budget` restarts of a target per hour. */
export function flapPlaybook(budget: number): string {
  return `name: flap-drill
description: Restart a crashing target; beyond the flap budget, escalate instead.
priority: 10
on:
  event: events.drill.crash
budget: { runs: ${budget}, per: 1h }
steps:
  - id: restart
    action: notify.send
    with: { message: "restart {{ event.target }} {{ event.data.n }}", severity: info }
    timeout: 10s
`;
}

/** Writes the flap playbook into its own directory under `dir`; returns the directory. */
export function writeFlapPlaybooks(dir: string, budget: number): string {
  const pbDir = join(dir, `flap-playbooks-${newId().slice(0, 8)}`);
  mkdirSync(pbDir, { recursive: true });
  writeFileSync(join(pbDir, 'flap-drill.yaml'), flapPlaybook(budget));
  return pbDir;
}

/** Where the engine is killed: while the `k`th restart is in flight, or after it ended (before the next crash). */
export interface FlapKill {
  at: number;
  when: 'in_flight' | 'between';
}

export interface FlapOutcome {
  target: string;
  budget: number;
  kill: FlapKill;
  /** Crashes published (the loop stops at the first refusal). */
  crashes: number;
  /** Restarts the target got (POSTs of distinct restart messages, duplicates aside). */
  granted: number;
  /** POSTs beyond the first of one restart message. */
  duplicated: number;
  /** True when `events.playbook.budget_exhausted` came for the target. */
  escalated: boolean;
  elapsedMs: number;
}

/**
 * One repetition on a fresh target: start an engine process, loop crash → restart until the
 * budget refuses, SIGKILL the engine at `kill` and start a new one in the middle, count what the
 * target got. `maxCrashes` bounds the loop when the budget is never enforced.
 */
export async function flapDrill(d: SigkillDrillDeps, rep: number, budget: number, kill: FlapKill, timeoutMs = 20_000): Promise<FlapOutcome> {
  const started = performance.now();
  const target = `looper-${rep}-${newId().slice(0, 6)}`;
  const args = ['--playbooks', d.playbooks, '--ack-wait', String(d.ackWaitMs ?? 2000)];
  const creds = d.nats.credentials('engine');
  let escalated = false;
  const sub = d.observer.bus.nc.subscribe('events.playbook.budget_exhausted', {
    callback: (_e, m) => {
      const env = EnvelopeSchema.safeParse(JSON.parse(m.string()));
      if (env.success && BudgetExhaustedData.safeParse(env.data.data).data?.target === target) escalated = true;
    },
  });
  await d.observer.bus.flush();
  let engine: DrillProcess = await spawnComponent(d.settings, 'engine', creds, args).ready(d.observer);
  const restartEngine = async () => {
    await engine.kill('SIGKILL');
    engine = await spawnComponent(d.settings, 'engine', creds, args).ready(d.observer);
  };
  const maxCrashes = budget * 3;
  let crashes = 0;
  try {
    for (let n = 1; n <= maxCrashes && !escalated; n++) {
      const r = await publishDurable(d.monitor, 'events.drill.crash', 'drill.crash', { n }, { target });
      crashes++;
      if (kill.at === n && kill.when === 'in_flight') {
        await d.webhook.posted(`restart ${target} ${n}`, timeoutMs).catch(() => undefined);
        await restartEngine();
      }
      // the restart ends (the crash comes back) or the engine refuses it (the loop is broken)
      await d.observer
        .until(() => escalated || d.observer.ends(r.envelope.id).length > 0, timeoutMs, `crash ${n} of ${target} to be restarted or refused`)
        .catch((e: unknown) => {
          throw new Error(`${(e as Error).message}; engine ${engine.pid} said: ${engine.stderr.slice(-3000)}`);
        });
      if (kill.at === n && kill.when === 'between') await restartEngine();
    }
  } finally {
    sub.unsubscribe();
    await engine.kill('SIGTERM');
  }
  let granted = 0;
  let duplicated = 0;
  for (let n = 1; n <= crashes; n++) {
    const c = d.webhook.count(`restart ${target} ${n}`);
    if (c) granted++;
    duplicated += Math.max(0, c - 1);
  }
  return { target, budget, kill, crashes, granted, duplicated, escalated, elapsedMs: performance.now() - started };
}
