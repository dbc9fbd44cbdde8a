/** Handlers (remediators): one module per action family, served on `actions.*`. */
export { ActionServer, ServedActionsData } from './action-server.js';
export { declareAction, defineAction, type ActionHandler, type ActionSpec, type ActionRisk, type ActionContext, type ActionOutcome } from './action.js';
export { ACTION_REGISTRY, ACTION_CATALOGUE, actionSpec } from './action-registry.js';
export { renderActionTable, replaceActionTable, ACTION_TABLE_START, ACTION_TABLE_END } from './action-table.js';
export { servedActions, type ServedActionsOptions } from './served-actions.js';
export { processRestart, targetHealth } from './process-actions.js';
export { notifySend } from './notify-actions.js';
export { HeartbeatTracker } from './heartbeat-tracker.js';
export * from './errors.js';
export { aclAssess, aclQuiet } from './acl-actions.js';
export { busBlacklist, busUnblacklist, busPing } from './bus-actions.js';
export { Blacklist, PROTECTED_ROLES, DEFAULT_BLACKLIST_TTL_MS, type BlacklistOptions, type BlacklistOutcome, type BusServerControl } from './blacklist.js';
export { JsonFileBlacklistStore, BlacklistEntrySchema, type BlacklistEntry, type BlacklistStore } from './blacklist-store.js';
export { ViolationLedger, type ActorViolations } from './violation-ledger.js';
export { IdempotencyLedger, IDEMPOTENCY_BUCKET, kvKey, type RecordedResult } from './idempotency-ledger.js';
export { ProcessGuard, type ProcessGuardOptions, type ProcessOp, type ClearedProcess } from './process-guard.js';
export { processThrottle, processKillRunaway, processKill, processRenice } from './process-remediation.js';
export { resourceCpu, processTop } from './resource-probes.js';
