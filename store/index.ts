/**
 * Homeostat's history: incidents, runs, steps, approvals, the blacklist and the runbook, in
 * PostgreSQL (`DATABASE_URL`) or the embedded PGlite store; and the Recorder that fills it from the bus.
 */
export { openStore, DEFAULT_SCHEMA, type OpenStoreOptions } from './factory.js';
export { migrate, migrationsDir, type MigrateOptions } from './migrations.js';
export { redactUrl } from './pg-client.js';
export {
  INCIDENT_STATUSES,
  RUN_STATUSES,
  MAX_OUTPUT_CHARS,
  type Store,
  type IncidentRecord,
  type IncidentStatus,
  type IncidentLogEntry,
  type RunRecord,
  type RunStatus,
  type RunSummary,
  type RunDetail,
  type StepRecord,
  type ActionRecord,
  type ApprovalRecord,
  type BlacklistEntry,
  type RunbookEntry,
  type DiagnosisRecord,
} from './store.js';
export * from './errors.js';
export { healthPctOf } from './run-tracker.js';
export { Recorder, RecordedApprovalData, type RecorderOptions, type RecorderStats } from './recorder.js';
export { downtimeOf, type TargetImpact } from './incident-tracker.js';
export type { WriteQueueStats, LatencyFigures } from './write-queue.js';
export { HistoryService, HistoryQuery, HISTORY_KINDS, queryHistory, queryStore, saveDiagnosisOverBus, DiagnosisToSave, type HistoryKind } from './history-service.js';
