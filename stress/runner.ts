import type { Logger } from 'pino';
import { z } from 'zod';
import { BusClient, HeartbeatData, heartbeatComponent, RunPhaseData, subjects, type Envelope } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { loadTargets, readProc } from '../targets/index.js';
import { homeostatUntouched, snapshotHomeostat } from './collateral.js';
import { freshStack } from './fresh-stack.js';
import type { ScoredStack } from './scored-stack.js';
import { CutoffWatch } from './cutoff-watch.js';
import { dataServicesServe } from './data-service-probe.js';
import { mountScratch } from './scratch-filesystem.js';
import type { Scenario } from './scenario.js';

export interface RunReport {
  id: string;
  name: string;
  run: number;
  passed: boolean;
  detected: boolean;
  recovered: boolean;
  mttdMs: number | null;
  /** Inject → recovered, minus the time approval gates waited (approvalWaitMs). */
  mttrMs: number | null;
  /** Time the run's approval gates waited for the runner's approval (scenarios with `approve`); null when none waited. */
  approvalWaitMs: number | null;
  /** After the run, the target's data services served clients (`recover.serves`); null when not asked. */
  served: boolean | null;
  /** Inject → the server closed the scenario's `cutoff.actor` connection; null when not measured or not cut. */
  cutoffMs: number | null;
  /** The restarted program's cold start: its new process started → its checks passed; null when not restarted (or attached). */
  coldStartMs: number | null;
  /** MTTR minus the cold start: what Homeostat itself took (detection, decision, restart); null without a cold start. */
  overheadMs: number | null;
  playbook: string | null;
  runStatus: string | null;
  collateral: string[];
  orphans: number[];
  notes: string[];
}

export type Progress = (scenario: string, run: number, phase: string) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` is true, polling every `everyMs`; false when `timeoutMs` passes. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

/**
 * Runs one scenario once: on a fresh stack (default), or on the stack `open` gives (e.g. an
 * attached `homeostat up`, see attached-stack.ts). Waits for steady state, injects the fault
 * through `chaos.<fault>` (a plain JSON body, as `nats pub` sends it), and measures MTTD and MTTR.
 */
export async function runScenarioOnce(
  scenario: Scenario,
  runIndex: number,
  settings: Readonly<Settings>,
  log: Logger,
  progress: Progress,
  open?: () => Promise<ScoredStack>,
): Promise<RunReport> {
  const report: RunReport = {
    id: scenario.id,
    name: scenario.name,
    run: runIndex,
    passed: false,
    detected: false,
    recovered: false,
    mttdMs: null,
    mttrMs: null,
    approvalWaitMs: null,
    served: null,
    cutoffMs: null,
    coldStartMs: null,
    overheadMs: null,
    playbook: null,
    runStatus: null,
    collateral: [],
    orphans: [],
    notes: [],
  };
  progress(scenario.id, runIndex, open ? 'attaching' : 'starting stack');
  // an attached stack's targets are its own: only a fresh stack gets the scenario's filesystems
  const unmount = !open && scenario.filesystems.length ? await mountScratch(scenario.filesystems) : null;
  let stack: ScoredStack;
  try {
    stack = await (open ? open() : freshStack(settings, log, scenario.targets ? loadTargets(scenario.targets) : undefined));
  } catch (e) {
    await unmount?.();
    throw e;
  }
  const seenPids = new Set<number>();
  let op: BusClient | null = null;
  let cutoff: CutoffWatch | null = null;
  /** Approvals the runner will publish (scenarios with `approve`). */
  const gates = new Set<NodeJS.Timeout>();
  /** Adds the scenario's run's end reason and the other runs on the target to the notes. */
  let runNotes = () => undefined as void;
  try {
    op = await BusClient.connect(stack.operator, 'stress-runner', log);
    // the target is a registered target, or (S02) an actor of the ACL policy
    const target = stack.has(scenario.target) ? stack.get(scenario.target) : null;
    const others = stack.names.filter((n) => n !== scenario.target);
    const beating = others.filter((o) => stack.get(o).heartbeat);

    let lastBeat = 0;
    const lastBeatByTarget = new Map<string, number>();
    const maxGapAfterInject = new Map<string, number>();
    op.subscribe(subjects.heartbeatAll, HeartbeatData, (env) => {
      const name = heartbeatComponent(env.subject) ?? '';
      const now = performance.now();
      const prevBeat = lastBeatByTarget.get(name);
      if (t0 && prevBeat !== undefined && beating.includes(name)) maxGapAfterInject.set(name, Math.max(maxGapAfterInject.get(name) ?? 0, now - Math.max(prevBeat, t0)));
      lastBeatByTarget.set(name, now);
      if (name === scenario.target) lastBeat = now;
      if (env.data.pid && stack.has(name)) seenPids.add(env.data.pid);
    });
    let t0 = 0;
    let detectedAt = 0;
    let detectEventId: string | null = null;
    op.subscribe(scenario.detect.event, z.unknown(), (env) => {
      if (t0 && !detectedAt && env.target === scenario.target) {
        detectedAt = performance.now();
        detectEventId = env.id;
      }
    });
    for (const [kind, what] of [['heartbeat', 'missed'], ['target', 'exited'], ['target', 'unhealthy']] as const) {
      op.subscribe(subjects.event(kind, what), z.unknown(), (env: Envelope<unknown>) => {
        if (t0 && env.target && others.includes(env.target)) report.collateral.push(`${env.target}: ${kind === 'heartbeat' ? 'heartbeat missed' : what}`);
      });
    }
    let resolvedAt = 0;
    let runEnded = false;
    let approvalWait = 0;
    /**
     * Runs on the target after the injection, in start order. The scenario's run is the one the
     * detected event started; failing that (the playbook fires on a follow-up event, e.g. S06's
     * oom_killed after target.exited), the first of the expected playbook; failing that, the first.
     */
    const runs = new Map<string, { playbook: string; eventId: string; status: string | null; endedAt: number; reason?: string }>();
    const scored = () => {
      const all = [...runs.entries()];
      return all.find(([, r]) => detectEventId !== null && r.eventId === detectEventId) ?? all.find(([, r]) => r.playbook === scenario.playbook) ?? all[0] ?? null;
    };
    const refresh = () => {
      const r = scored()?.[1];
      report.playbook = r?.playbook ?? null;
      report.runStatus = r?.status ?? null;
      // a run of another playbook for another event ending is not the end the scenario waits for
      runEnded = r?.status != null && (r.eventId === detectEventId || r.playbook === scenario.playbook);
      resolvedAt = r?.status === 'resolved' ? r.endedAt : 0;
    };
    // runs on the target before the injection (e.g. a start-up hiccup being healed): inject only once they ended
    const before = new Set<string>();
    op.subscribe(subjects.runsAll, RunPhaseData, (env) => {
      const phase = env.subject?.split('.')[2];
      if (env.data.target !== scenario.target) return;
      if (!t0) {
        if (phase === 'started') before.add(env.data.runId);
        else if (phase === 'resolved' || phase === 'failed' || phase === 'stopped') before.delete(env.data.runId);
        return;
      }
      const id = env.data.runId;
      if (phase === 'started' && !runs.has(id)) runs.set(id, { playbook: env.data.playbook, eventId: env.data.eventId ?? '', status: null, endedAt: 0 });
      const run = runs.get(id);
      if (!run) return;
      if (phase === 'awaiting_approval') {
        const gateAt = performance.now();
        if (!scenario.approve) report.notes.push(`run waits for approval of step ${env.data.step ?? '?'}; the scenario does not approve`);
        else {
          const t = setTimeout(() => {
            gates.delete(t);
            approvalWait += performance.now() - gateAt;
            op?.nc.publish(subjects.approval(id), JSON.stringify({ decision: 'approve', by: 'stress-runner' }));
          }, scenario.approve.after);
          gates.add(t);
        }
      }
      if (phase === 'resolved' || phase === 'failed' || phase === 'stopped') {
        run.status = phase;
        run.endedAt = performance.now();
        if (env.data.reason) run.reason = env.data.reason;
      }
      refresh();
    });
    runNotes = () => {
      const chosen = scored();
      for (const [id, r] of runs) {
        if (id === chosen?.[0]) {
          if (r.status && r.reason) report.notes.push(`run ${r.status}: ${r.reason}`);
        } else report.notes.push(`also ran on ${scenario.target}: ${r.playbook} (${r.status ?? 'not ended'})`);
      }
    };
    await op.flush();

    progress(scenario.id, runIndex, 'waiting for steady state');
    const beatFresh = (name: string) => {
      const hb = stack.get(name).heartbeat;
      return !hb || performance.now() - (lastBeatByTarget.get(name) ?? -1e9) < 2 * hb.intervalMs;
    };
    // an attached stack's resource monitor is not reachable: its calm is not checked (null)
    const calm = () => !scenario.inject.afterCalm || (stack.calm()?.calm ?? true);
    const steady = await until(
      async () =>
        before.size === 0 &&
        (!target || beatFresh(target.name)) &&
        others.every(beatFresh) &&
        (!target || ((stack.monitorSeesHealthy(target.name) ?? true) && (await stack.healthy(target.name)))) &&
        calm(),
      15_000,
      20,
    );
    if (!steady && !calm()) throw new Error(`the machine stayed under resource pressure (CPU ${stack.calm()?.cpuPct?.toFixed(0) ?? '?'} %) before injection`);
    if (!steady) throw new Error(`${scenario.target} never reached steady state before injection${before.size ? ` (a run on it was still active)` : ''}`);
    for (const p of stack.pids() ?? []) seenPids.add(p);
    const own = stack.homeostatPids();
    const homeostat = own ? snapshotHomeostat(own) : null;

    if (scenario.cutoff) {
      if (!stack.natsMonitorUrl) throw new Error("the cut-off needs nats-server's monitoring URL: a managed nats-server (unset NATS_URL), or --attach to a homeostat up on this machine");
      cutoff = new CutoffWatch(stack.natsMonitorUrl, scenario.cutoff.actor);
    }
    progress(scenario.id, runIndex, `injecting chaos.${scenario.inject.fault}`);
    t0 = performance.now();
    op.nc.publish(subjects.chaos(scenario.inject.fault), JSON.stringify(scenario.inject.data));

    progress(scenario.id, runIndex, 'waiting for detection');
    report.detected = await until(() => detectedAt > 0, scenario.timeout, 2);
    if (report.detected) report.mttdMs = round(detectedAt - t0);
    else report.notes.push(`no ${scenario.detect.event} for ${scenario.target} within ${scenario.timeout} ms`);

    const expectStop = scenario.outcome.run === 'stopped';
    if (report.detected && expectStop) {
      progress(scenario.id, runIndex, 'waiting for the run to stop');
      await until(() => runEnded, Math.max(0, scenario.timeout - (performance.now() - t0)), 10);
      const restartedAt = target ? stack.lastStart(target.name) : null;
      if (restartedAt !== null && restartedAt > t0) report.notes.push(`${scenario.target} was restarted, but this fault must not be "fixed"`);
      else report.recovered = report.runStatus === 'stopped';
      if (report.runStatus === 'stopped') report.mttrMs = round(performance.now() - t0);
    } else if (report.detected) {
      progress(scenario.id, runIndex, 'waiting for recovery');
      const remaining = scenario.timeout - (performance.now() - t0);
      const steadyAgain = async () =>
        (!scenario.recover.runResolved || report.runStatus === 'resolved') &&
        (!scenario.recover.heartbeat || lastBeat > detectedAt) &&
        (!scenario.recover.health || !target || (await stack.healthy(target.name)));
      // a run that ended without resolving cannot bring recovery when recovery waits on it
      // (a resolved run may still precede the target's health: e.g. a verify of "running" before it serves)
      // recovery is the first moment every condition holds (asking again could catch a check between
      // two beats and call a recovered target unrecovered)
      let recoveredAt = 0;
      await until(async () => {
        if (await steadyAgain()) recoveredAt = performance.now();
        return recoveredAt > 0 || (scenario.recover.runResolved && runEnded && report.runStatus !== 'resolved');
      }, Math.max(0, remaining), 5);
      if (recoveredAt > 0) {
        report.recovered = true;
        const onlyRun = scenario.recover.runResolved && !scenario.recover.heartbeat && !scenario.recover.health;
        report.mttrMs = round((onlyRun ? resolvedAt : recoveredAt) - t0 - approvalWait);
        if (approvalWait > 0) report.approvalWaitMs = round(approvalWait);
        const restartedAt = target ? stack.lastStart(target.name) : null;
        if (restartedAt !== null && restartedAt > t0 && !onlyRun) {
          report.coldStartMs = round(recoveredAt - restartedAt);
          report.overheadMs = round(report.mttrMs - report.coldStartMs);
        }
      } else report.notes.push(`not recovered within ${scenario.timeout} ms`);
      // let the playbook finish its verification so the run's outcome is known
      await until(() => report.runStatus !== null, 15_000, 10);
      if (scenario.recover.serves && target) {
        const failures = await dataServicesServe(target.name, target.checks);
        report.served = failures.length === 0;
        report.notes.push(...failures);
      }
    }
    if (cutoff) {
      await until(() => cutoff!.cutAt !== null, Math.max(0, scenario.timeout - (performance.now() - t0)), 10);
      await cutoff.stop();
      if (cutoff.cutAt !== null) report.cutoffMs = round(cutoff.cutAt - t0);
      else report.notes.push(cutoff.seenAt === null ? `${cutoff.actor} was never seen connected` : `${cutoff.actor} was not cut off within ${scenario.timeout} ms`);
    }
    for (const p of stack.pids() ?? []) seenPids.add(p);
    // collateral: other targets' heartbeats uninterrupted, Homeostat's processes untouched
    for (const [o, gap] of maxGapAfterInject) {
      const hb = stack.get(o).heartbeat;
      if (hb && gap > hb.misses * hb.intervalMs) report.collateral.push(`${o}: heartbeat gap ${Math.round(gap)} ms`);
    }
    if (homeostat) report.collateral.push(...homeostatUntouched(homeostat));
    // collateral: other targets must still be healthy (the stopped one of an unfixable fault is left as it is)
    for (const o of others) {
      if (!(await stack.healthy(o))) report.collateral.push(`${o}: unhealthy at end`);
    }
  } catch (e) {
    report.notes.push((e as Error).message);
  } finally {
    runNotes();
    for (const t of gates) clearTimeout(t);
    await cutoff?.stop();
    await op?.close().catch(() => undefined);
    progress(scenario.id, runIndex, stack.mode === 'fresh' ? 'stopping stack' : 'detaching');
    await stack.release();
    await unmount?.();
  }
  // an attached stack keeps running: its processes are not orphans
  report.orphans = stack.mode === 'fresh' ? await leftovers([...seenPids]) : [];
  if (report.playbook && report.playbook !== scenario.playbook) report.notes.push(`expected playbook ${scenario.playbook}, ran ${report.playbook}`);
  if (report.orphans.length) report.notes.push(`processes left running: ${report.orphans.join(', ')}`);
  if (report.collateral.length) report.notes.push(`collateral: ${[...new Set(report.collateral)].join('; ')}`);
  report.passed =
    report.detected &&
    report.recovered &&
    report.playbook === scenario.playbook &&
    report.runStatus === scenario.outcome.run &&
    (!scenario.outcome.reason || report.notes.some((n) => n.includes(scenario.outcome.reason!))) &&
    report.collateral.length === 0 &&
    report.served !== false &&
    report.orphans.length === 0 &&
    (!scenario.cutoff || report.cutoffMs !== null);
  return report;
}

/** Pids still alive (not zombies) a moment after the stack stopped. */
async function leftovers(pids: number[]): Promise<number[]> {
  const alive = () => pids.filter((p) => {
    const info = readProc(p);
    return info !== null && info.state !== 'Z';
  });
  await until(() => alive().length === 0, 3000, 20);
  return alive();
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
