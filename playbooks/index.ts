/** Playbooks: the YAML library, its schema, and the engine that runs them. */
export { PlaybookEngine, type EngineOptions, type EngineStats } from './engine.js';
export type { RunRecord, StepRecord, RunStatus, StepStatus, StepStage } from './run-record.js';
export { parsePlaybook, loadPlaybookFile, refuseUnserved, unservedActions, unknownChoices, playbookRisk, type LoadedPlaybook, type LoadOptions, type ActionRef, type ActionTraits } from './loader.js';
export { loadPlaybookDir, PlaybookWatcher, type PlaybookWatcherOptions, type ReloadOutcome } from './library.js';
export { PlaybookSchema, type Playbook, type Step, type FailureStep } from './schema.js';
export { playbookJsonSchema, playbookJsonSchemaText, type DocumentedAction } from './json-schema.js';
export { explainPlaybook, formatExplanation, readEventFile, type Explanation } from './explain.js';
export { render } from './template.js';
export * from './errors.js';
export { watchPlaybookLibrary } from './hot-reload.js';
export { RunJournal, JOURNAL_BUCKET, idempotencyKey, type JournalEntry, type InflightAttempt } from './run-journal.js';
export type { DurableIntakeOptions } from './engine.js';
export { RunbookMemory, type RunbookOutcome } from './runbook-memory.js';
export type { Diagnoser, DiagnosisAnswer, DiagnosisCall, DiagnosisCandidate, DiagnosisLog, DiagnosisReport, DiagnosisRequest } from './diagnosis-port.js';
export { candidatesOf, decideChoice, eventLogs, eventMetrics, incidentKeyOf, type LlmDecision, type DiagnosisContext } from './diagnose-step.js';
export { matchTrigger } from './trigger-gate.js';
export { openTriggerState, memoryTriggerState, TRIGGER_BUCKET, TRIGGER_STATE_TTL_MS, type TriggerState, type TargetTriggerState, type DedupeState } from './trigger-state.js';
