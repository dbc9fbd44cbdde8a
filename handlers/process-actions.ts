import { z } from 'zod';
import { runCheck, type TargetRegistry } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import type { HeartbeatTracker } from './heartbeat-tracker.js';

const TargetParam = z.object({ target: z.string().min(1) }).strict();

/** `process.restart`'s declaration (see the action registry). */
export const processRestartSpec = declareAction({
  name: 'process.restart',
  description: 'Restart a registered target through its driver.',
  params: TargetParam,
  returns: '`{ target, previousPid, pid }`: stopped (SIGTERM + SIGCONT, SIGKILL after `stopGrace`) and started again through the target\'s driver',
  risk: 'medium',
  idempotent: false,
  probe: false,
});

/** `target.health`'s declaration. */
export const targetHealthSpec = declareAction({
  name: 'target.health',
  description: 'Probe a target: running, and each of its declared checks passing once.',
  params: TargetParam,
  returns: "`{ target, healthy, running, pid, checks: [{ name, kind, ok, reason, latencyMs }] }`: runs the target's declared checks once (the `heartbeat` kind judges the last beat's age); healthy when running and every check passes",
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `process.restart`: stops the target (SIGTERM, SIGKILL after its grace) and starts it again. */
export function processRestart(targets: TargetRegistry) {
  return defineAction({
    ...processRestartSpec,
    async run(p) {
      const t = targets.get(p.target);
      const before = (await t.driver.status()).pid;
      await t.driver.restart();
      const pid = (await t.driver.status()).pid ?? null;
      const c = t.config as { driver: string; command?: string; args?: string[]; builtin?: string };
      const program = c.builtin ? `the ${c.builtin} builtin` : c.command ? [c.command, ...(c.args ?? [])].join(' ') : p.target;
      const command = c.driver === 'process' ? `kill -TERM ${before ?? '-'} && start ${program}` : `restart ${p.target} (${c.driver} driver)`;
      return { command, exitCode: 0, stdout: `${p.target}: pid ${before ?? '-'} → ${pid ?? '-'}`, result: { target: p.target, previousPid: before ?? null, pid } };
    },
  });
}

/**
 * `target.health` (a probe): the target is running and each of its declared checks passes once
 * (run now, all at once; the heartbeat kind judges the tracked heartbeat age). A target without
 * checks is healthy when it runs.
 */
export function targetHealth(targets: TargetRegistry, beats: HeartbeatTracker) {
  return defineAction({
    ...targetHealthSpec,
    async run(p) {
      const t = targets.get(p.target);
      const status = await t.driver.status();
      const checks = status.running
        ? await Promise.all(
            t.checks.map((c) => runCheck(c, { target: p.target, driver: t.driver, port: t.port, heartbeatAgeMs: () => beats.ageMs(p.target) })),
          )
        : [];
      const healthy = status.running && checks.every((c) => c.ok);
      return { result: { target: p.target, healthy, running: status.running, pid: status.pid ?? null, checks } };
    },
  });
}
