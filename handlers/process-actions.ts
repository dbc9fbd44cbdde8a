import { z } from 'zod';
import type { TargetRegistry } from '../targets/index.js';
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
  description: 'Probe a target: running, heartbeat fresh, HTTP health 200.',
  params: TargetParam,
  returns: '`{ healthy, running, pid, heartbeatAgeMs, httpStatus }`: healthy when running, heartbeat no older than 2 intervals, health URL 200',
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
      const before = t.driver.status().pid;
      await t.driver.restart();
      return { result: { target: p.target, previousPid: before ?? null, pid: t.driver.status().pid ?? null } };
    },
  });
}

/** `target.health` (a probe): process running, heartbeat fresh, and the health URL answering 200. */
export function targetHealth(targets: TargetRegistry, beats: HeartbeatTracker) {
  return defineAction({
    ...targetHealthSpec,
    async run(p) {
      const t = targets.get(p.target);
      const status = t.driver.status();
      const heartbeatAgeMs = beats.ageMs(p.target);
      const heartbeatFresh = heartbeatAgeMs !== null && heartbeatAgeMs <= 2 * t.intervalMs;
      let httpStatus: number | null = null;
      if (t.driver.healthUrl) {
        try {
          const res = await fetch(t.driver.healthUrl, { signal: AbortSignal.timeout(1000) });
          httpStatus = res.status;
          await res.body?.cancel();
        } catch {
          httpStatus = null;
        }
      }
      const healthy = status.running && heartbeatFresh && (t.driver.healthUrl ? httpStatus === 200 : true);
      return { result: { target: p.target, healthy, running: status.running, pid: status.pid ?? null, heartbeatAgeMs, httpStatus } };
    },
  });
}
