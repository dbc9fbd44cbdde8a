import { aclAssessSpec, aclQuietSpec } from './acl-actions.js';
import type { ActionSpec } from './action.js';
import { busBlacklistSpec, busPingSpec, busUnblacklistSpec } from './bus-actions.js';
import { containerCpuLimitSpec, containerExecSpec, containerRestartSpec, containersPruneSpec, containerStateSpec, logsCleanSpec } from './container-actions.js';
import { HandlerError } from './errors.js';
import { notifySendSpec } from './notify-actions.js';
import { processRestartSpec, targetHealthSpec } from './process-actions.js';
import { processKillRunawaySpec, processKillSpec, processReniceSpec, processThrottleSpec } from './process-remediation.js';
import { postgresConnectionsSpec, postgresTerminateIdleSpec } from './postgres-actions.js';
import { processTopSpec, resourceCpuSpec } from './resource-probes.js';
import { redisFlushallSpec, redisMemorySpec, redisPurgeSpec } from './redis-actions.js';

function registry(specs: ActionSpec[]): readonly ActionSpec[] {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new HandlerError('HANDLER_DUPLICATE', `action "${s.name}" is declared twice in the action registry`);
    seen.add(s.name);
  }
  return Object.freeze(specs);
}

/**
 * Every action Homeostat's handlers provide, declared once (name, params, description, default
 * risk, idempotent, probe). Derived from it: {@link ACTION_CATALOGUE} (what `homeostat playbooks
 * validate` checks), the `action` enum of `playbooks/schema.json`, README's action table, and what
 * the engine knows of each action (default risk, request/reply for probes).
 */
export const ACTION_REGISTRY: readonly ActionSpec[] = registry([
  processRestartSpec,
  targetHealthSpec,
  notifySendSpec,
  aclAssessSpec,
  aclQuietSpec,
  busBlacklistSpec,
  busUnblacklistSpec,
  busPingSpec,
  processTopSpec,
  processThrottleSpec,
  processKillRunawaySpec,
  processKillSpec,
  processReniceSpec,
  resourceCpuSpec,
  redisPurgeSpec,
  redisFlushallSpec,
  redisMemorySpec,
  postgresTerminateIdleSpec,
  postgresConnectionsSpec,
  containerRestartSpec,
  containerExecSpec,
  logsCleanSpec,
  containersPruneSpec,
  containerCpuLimitSpec,
  containerStateSpec,
]);

/** The names of {@link ACTION_REGISTRY}: a playbook naming another action is refused. */
export const ACTION_CATALOGUE: readonly string[] = Object.freeze(ACTION_REGISTRY.map((a) => a.name));

/** The declaration of `name`, when it is a registered action. */
export function actionSpec(name: string): ActionSpec | undefined {
  return ACTION_REGISTRY.find((a) => a.name === name);
}
