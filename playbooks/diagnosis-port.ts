import type { Envelope } from '../bus/index.js';
import type { RunbookOutcome } from './runbook-memory.js';
import type { Risk } from './schema.js';

/**
 * The contract between the engine and an LLM diagnoser (implemented in `diagnosis/`). The engine
 * only ever hands over an allow-list of playbooks and gets back, at most, one of their names.
 */

/** One playbook the model may choose: what it sees of it. */
export interface DiagnosisCandidate {
  name: string;
  description: string;
  /** The highest risk among its action steps. */
  risk: Risk;
}

/** One log the model may read (the last 2,000 characters are sent, fenced as data). */
export interface DiagnosisLog {
  name: string;
  text: string;
}

/** What the diagnoser is asked about one incident. */
export interface DiagnosisRequest {
  /** The incident the call is charged to (per-incident budget): an incident id, or target + signature. */
  incidentKey: string;
  /** The event signature (the triggering event's subject). */
  signature: string;
  target: string;
  events: Envelope<unknown>[];
  /** Numbers from the latest event (the metrics at the time). */
  metrics: Record<string, unknown>;
  logs: DiagnosisLog[];
  /** What ran before for this signature and how it ended. */
  runbook: RunbookOutcome[];
  /** The allow-list: the only playbooks the answer may name. */
  candidates: DiagnosisCandidate[];
}

/** The model's answer, once it parsed, met the schema and named an allowed playbook (or none). */
export interface DiagnosisAnswer {
  root_cause: string;
  /** 0 … 1. */
  confidence: number;
  /** A playbook of the allow-list, or null: stop and leave it to a person. */
  playbook: string | null;
  justification: string;
}

/** One call to one provider, kept with the incident. */
export interface DiagnosisCall {
  provider: string;
  model: string;
  attempt: number;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** accepted: the answer was used; refused: it was ignored (reason); error: no answer (reason). */
  outcome: 'accepted' | 'refused' | 'error';
  reason?: string;
  httpStatus?: number;
}

/** The outcome of one diagnosis: the accepted answer (or null with the reason) and every call made. */
export interface DiagnosisReport {
  answer: DiagnosisAnswer | null;
  provider?: string;
  model?: string;
  /** Why there is no answer (no provider, budget spent, every provider failed or was refused). */
  reason?: string;
  calls: DiagnosisCall[];
  latencyMs: number;
  tokens: number;
  costUsd: number;
}

/** Diagnoses an incident; never throws (a failure is a report with `answer: null` and the reason). */
export interface Diagnoser {
  diagnose(req: DiagnosisRequest): Promise<DiagnosisReport>;
}
