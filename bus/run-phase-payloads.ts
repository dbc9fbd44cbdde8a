import { z } from 'zod';

/**
 * The one contract for run history: what the engine publishes on `runs.<runId>.<phase>`, what the
 * recorder writes from it and what the dashboard shows. Each phase has its own `detail`; the
 * engine publishes through {@link RunPhasePayload} (type-checked per phase), consumers of `runs.>`
 * parse {@link RunPhaseData}, whose `detail` holds every phase's fields, typed and optional, so a
 * message from an older engine still parses. Imports zod only: the dashboard's page imports its types.
 */

/**
 * A step's outcome. `skipped`: its `when` was false; `stopped`: a `stop` step; `rejected`: its
 * approval was refused or timed out; `undone` / `undo_failed`: its rollback.
 */
export const STEP_STATUSES = ['ok', 'failed', 'skipped', 'stopped', 'rejected', 'undone', 'undo_failed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Where in the run a step ran. */
export const STEP_STAGES = ['main', 'step_on_failure', 'rollback', 'on_failure'] as const;
export type StepStage = (typeof STEP_STAGES)[number];

/** `runs.<id>.started`: the playbook's priority and file, the triggering event; again with `resumed` after an engine restart. */
export const RunStartedDetail = z.object({
  priority: z.number().optional(),
  file: z.string().optional(),
  /** The triggering event's subject and time. */
  event: z.string().optional(),
  eventTime: z.string().optional(),
  /** The run's first step waits this long (flap back-off). */
  backoffMs: z.number().nonnegative().optional(),
  /** Announced again by an engine that resumed the run from its journal, with the steps already finished. */
  resumed: z.boolean().optional(),
  finishedSteps: z.number().int().nonnegative().optional(),
});
export type RunStartedDetail = z.infer<typeof RunStartedDetail>;

/** `runs.<id>.step`: one finished step. Its action calls' outputs (exit code, stdout, health %) are on `results.<actionId>`. */
export const RunStepDetail = z.object({
  stage: z.enum(STEP_STAGES),
  /** Action calls the step made: retries of an action, polls of a verify probe (0 when it made none). */
  attempts: z.number().int().nonnegative(),
  /** The action or probe called, and its rendered parameters. */
  action: z.string().optional(),
  params: z.unknown().optional(),
  /** The last call's result (a probe's answer, a diagnosis). */
  result: z.record(z.string(), z.unknown()),
});
export type RunStepDetail = z.infer<typeof RunStepDetail>;

/** `runs.<id>.awaiting_approval`: what the waiting step would do, its risk, and until when it waits. */
export const RunAwaitingApprovalDetail = z.object({
  action: z.string(),
  params: z.unknown(),
  risk: z.string(),
  timeoutMs: z.number().int().positive(),
  /** ISO time after which the wait counts as a rejection. */
  expiresAt: z.string(),
});
export type RunAwaitingApprovalDetail = z.infer<typeof RunAwaitingApprovalDetail>;

/** `runs.<id>.resolved|failed|stopped`: events attached while the run was active, steps it ran. */
export const RunEndDetail = z.object({
  attached: z.number().int().nonnegative(),
  steps: z.number().int().nonnegative(),
});
export type RunEndDetail = z.infer<typeof RunEndDetail>;

const RunPhaseBase = z.object({
  runId: z.string(),
  playbook: z.string(),
  target: z.string().optional(),
  eventId: z.string().optional(),
  /** The OpenTelemetry trace the run belongs to (the incident's trace), when tracing is on. */
  traceId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
});

/** Each phase's payload, strict about its own fields: what the engine must publish. */
export const RUN_PHASE_PAYLOADS = {
  started: RunPhaseBase.extend({ detail: RunStartedDetail }),
  step: RunPhaseBase.extend({ step: z.string(), status: z.enum(STEP_STATUSES), durationMs: z.number().nonnegative(), reason: z.string().optional(), detail: RunStepDetail }),
  awaiting_approval: RunPhaseBase.extend({ step: z.string(), detail: RunAwaitingApprovalDetail }),
  resolved: RunPhaseBase.extend({ durationMs: z.number().nonnegative().optional(), detail: RunEndDetail.optional() }),
  failed: RunPhaseBase.extend({ reason: z.string(), durationMs: z.number().nonnegative().optional(), detail: RunEndDetail.optional() }),
  stopped: RunPhaseBase.extend({ reason: z.string(), durationMs: z.number().nonnegative().optional(), detail: RunEndDetail.optional() }),
} as const;
export type RunPhaseName = keyof typeof RUN_PHASE_PAYLOADS;
/** The payload of `runs.<runId>.<P>`. */
export type RunPhasePayload<P extends RunPhaseName> = z.infer<(typeof RUN_PHASE_PAYLOADS)[P]>;

/**
 * Any phase's payload, as a subscriber to `runs.>` reads it: `detail` carries the fields of every
 * phase, each typed and optional (the subject's last token says which phase it is).
 */
export const RunPhaseData = RunPhaseBase.extend({
  step: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
  durationMs: z.number().optional(),
  detail: RunStartedDetail.merge(RunStepDetail.partial()).merge(RunAwaitingApprovalDetail.partial()).merge(RunEndDetail.partial()).extend({
    // a stage this version does not know (a newer engine's) still parses
    stage: z.string().optional(),
  }).optional(),
});
export type RunPhaseData = z.infer<typeof RunPhaseData>;

/** A run the engine holds now, as `engine.runs.active` answers. */
export const ActiveRunData = z.object({
  runId: z.string(),
  playbook: z.string(),
  target: z.string(),
  eventId: z.string(),
  /** ISO time the run started. */
  startedAt: z.string(),
  /** `awaiting_approval` while `awaiting` is set, else `running`. */
  status: z.enum(['running', 'awaiting_approval']),
  /** Steps finished so far. */
  steps: z.number().int().nonnegative(),
  /** Matching events attached to the run. */
  attached: z.number().int().nonnegative(),
  traceId: z.string().optional(),
  /** The step waiting for an operator, as `runs.<id>.awaiting_approval` announced it. */
  awaiting: RunAwaitingApprovalDetail.extend({ step: z.string() }).optional(),
});
export type ActiveRunData = z.infer<typeof ActiveRunData>;

/** A query on `engine.runs.active`: every active run, or only those waiting for approval. */
export const ActiveRunsQuery = z.object({ waitingOnly: z.boolean().optional() }).strict();
export type ActiveRunsQuery = z.infer<typeof ActiveRunsQuery>;

/** One engine's answer on `engine.runs.active` (each engine of a cluster answers for the runs it holds). */
export const ActiveRunsReply = z.object({ engine: z.string(), runs: z.array(ActiveRunData) });
export type ActiveRunsReply = z.infer<typeof ActiveRunsReply>;
