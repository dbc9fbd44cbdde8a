/** What the engine remembers of a run (in memory; the store records it from `runs.>`). */
import type { DiagnosisAnswer } from './diagnosis-port.js';
import type { LlmDecision } from './diagnose-step.js';
import type { RunAwaitingApprovalDetail, RunPhase, RunPhasePayload, StepStage, StepStatus } from '../bus/index.js';

export type RunStatus = 'running' | 'resolved' | 'failed' | 'stopped';

/** A step's outcome and where in the run it ran: the `runs.<id>.step` contract's (bus/run-phase-payloads.ts). */
export type { StepStatus, StepStage } from '../bus/index.js';

export interface StepRecord {
  id: string;
  status: StepStatus;
  result: Record<string, unknown>;
  attempts: number;
  durationMs: number;
  error?: string;
  stage?: StepStage;
  /** The action or probe called, and its rendered parameters. */
  action?: string;
  params?: unknown;
}

export interface RunRecord {
  runId: string;
  playbook: string;
  target: string;
  eventId: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  steps: StepRecord[];
  /** Back-off: the run's first step waits until this time (epoch ms). */
  notBefore?: number;
  /** Matching events that arrived while this run was active and were attached to it. */
  attached: number;
  reason?: string;
  /** A run an LLM diagnosis chose: which triage run chose it, and whether the choice waits for approval first. */
  llm?: { triageRunId: string; approval: 'required' | 'auto'; reason: string; confidence: number; rootCause: string; approvalTimeoutMs: number };
  /** Set by a `diagnose` step that chose a playbook: the engine starts it when this run resolves. */
  chosen?: { playbook: string; decision: LlmDecision; answer: DiagnosisAnswer };
  /** The OpenTelemetry trace of the run (and of the event that started it), when tracing is on. */
  traceId?: string;
  /** Set while the run waits for an operator: what `runs.<id>.awaiting_approval` announced. */
  awaitingApproval?: RunAwaitingApprovalDetail & { step: string };
}

/** The outcome of a run, before rollback and on_failure steps. */
export type RunOutcome = { kind: 'resolved' } | { kind: 'failed'; reason: string } | { kind: 'stopped'; reason: string };

/** What a `runs.<runId>.<P>` payload adds to the run's own fields (id, playbook, target, event, trace). */
export type RunPhaseExtra<P extends RunPhase> = Omit<RunPhasePayload<P>, 'runId' | 'playbook' | 'target' | 'eventId' | 'traceId'>;
