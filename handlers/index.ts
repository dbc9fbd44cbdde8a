/** Handlers (remediators): one module per action family, served on `actions.*`. */
export { ActionServer } from './action-server.js';
export { defineAction, type ActionHandler, type ActionContext, type ActionOutcome } from './action.js';
export { processRestart, targetHealth } from './process-actions.js';
export { notifySend } from './notify-actions.js';
export { HeartbeatTracker } from './heartbeat-tracker.js';
export { ACTION_CATALOGUE, type ActionName } from './catalogue.js';
export * from './errors.js';
export { ProcessGuard, type ProcessGuardOptions, type ProcessOp, type ClearedProcess } from './process-guard.js';
export { processThrottle, processKillRunaway, processKill, processRenice } from './process-remediation.js';
export { resourceCpu, processTop } from './resource-probes.js';
