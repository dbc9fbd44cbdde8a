import type { Logger } from 'pino';
import { subjectMatches, type Envelope } from '../bus/index.js';
import type { Diagnoser, DiagnosisAnswer, DiagnosisCandidate, DiagnosisLog, DiagnosisReport } from './diagnosis-port.js';
import type { RunRecord, StepRecord, StepStage } from './run-record.js';
import type { RunbookOutcome } from './runbook-memory.js';
import type { Step } from './schema.js';
import { playbookRisk, type LoadedPlaybook } from './loader.js';

/** What the engine does with an accepted answer. */
export type LlmDecision =
  | { kind: 'stop'; reason: string }
  | { kind: 'approval'; playbook: string; reason: string }
  | { kind: 'auto'; playbook: string; reason: string };

/** What a `diagnose` step needs from the engine. */
export interface DiagnosisContext {
  /** null: no provider configured (`unavailable` says why); the step is skipped. */
  diagnoser: Diagnoser | null;
  unavailable?: string;
  /** The allow-list as the model sees it; names not loaded are left out. */
  candidates(names: readonly string[]): DiagnosisCandidate[];
  history(signature: string): RunbookOutcome[];
  /** The operator rule of the chosen playbook applied to the answer. */
  decide(answer: DiagnosisAnswer, signature: string): LlmDecision;
}

const LOG_FIELDS = ['logs', 'log', 'stderr', 'stdout', 'output'];

/** Logs carried by an event (`data.logs`, `data.stderr`, …; alert annotations travel in the event itself). */
export function eventLogs(env: Envelope<unknown>): DiagnosisLog[] {
  const d = env.data && typeof env.data === 'object' ? (env.data as Record<string, unknown>) : {};
  return LOG_FIELDS.filter((f) => typeof d[f] === 'string' && d[f] !== '').map((f) => ({ name: `${env.target ?? 'event'}:${f}`, text: d[f] as string }));
}

/** Numbers of the event's data: the metrics snapshot. */
export function eventMetrics(env: Envelope<unknown>): Record<string, unknown> {
  const d = env.data && typeof env.data === 'object' ? (env.data as Record<string, unknown>) : {};
  return Object.fromEntries(Object.entries(d).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean'));
}

/** The incident a run's diagnosis is charged to: its target and event family (as the store correlates them). */
export const incidentKeyOf = (target: string, signature: string) => `${target}:${signature.split('.')[1] ?? signature}`;

/**
 * Runs a `diagnose` step: asks the diagnoser, and records the answer, every call and the decision
 * (stop, approval, auto) in the step's result. Skipped when no provider is configured; failed when
 * no provider gave a usable answer. Never throws.
 */
export async function runDiagnoseStep(step: Step, event: Envelope<unknown>, run: RunRecord, stage: StepStage, dx: DiagnosisContext | undefined, log: Logger): Promise<StepRecord> {
  const base = { id: step.id, stage, action: 'diagnose', params: { playbooks: step.diagnose!.playbooks }, attempts: 0, durationMs: 0 };
  if (!dx?.diagnoser) return { ...base, status: 'skipped', result: {}, error: dx?.unavailable ?? 'no LLM provider configured (HOMEOSTAT_LLM_PROVIDERS or HOMEOSTAT_LLM_BASE_URL)' };
  const signature = event.subject ?? '';
  const candidates = dx.candidates(step.diagnose!.playbooks);
  let report: DiagnosisReport;
  try {
    report = await dx.diagnoser.diagnose({
      incidentKey: incidentKeyOf(run.target, signature), signature, target: run.target, events: [event], metrics: eventMetrics(event), logs: eventLogs(event),
      runbook: dx.history(signature), candidates,
    });
  } catch (e) {
    return { ...base, status: 'failed', result: {}, error: `diagnoser error: ${(e as Error).message}` };
  }
  const calls = { calls: report.calls, provider: report.provider, model: report.model, latencyMs: report.latencyMs, tokens: report.tokens, costUsd: report.costUsd };
  if (!report.answer) {
    log.warn({ step: step.id, reason: report.reason }, 'diagnosis gave no usable answer');
    return { ...base, attempts: report.calls.length, durationMs: report.latencyMs, status: 'failed', result: { ...calls, decision: { kind: 'none', reason: report.reason } }, error: report.reason };
  }
  // the guard already refused names outside the allow-list; checked again here, where the engine acts
  const allowed = candidates.map((c) => c.name);
  const decision: LlmDecision =
    report.answer.playbook !== null && !allowed.includes(report.answer.playbook)
      ? { kind: 'stop', reason: `"${report.answer.playbook}" is not in the allow-list` }
      : dx.decide(report.answer, signature);
  log.info({ step: step.id, playbook: report.answer.playbook, confidence: report.answer.confidence, decision: decision.kind }, 'diagnosed');
  return { ...base, attempts: report.calls.length, durationMs: report.latencyMs, status: 'ok', result: { ...calls, diagnosis: report.answer, decision } };
}

/** The allow-list as the model sees it: name, description and risk of each loaded playbook named. */
export function candidatesOf(playbooks: readonly LoadedPlaybook[], names: readonly string[]): DiagnosisCandidate[] {
  return names.flatMap((n) => {
    const pb = playbooks.find((p) => p.playbook.name === n);
    return pb ? [{ name: n, description: pb.playbook.description, risk: playbookRisk(pb) }] : [];
  });
}

/**
 * What is done with an accepted diagnosis: stop (no playbook), or start the chosen playbook —
 * after approval, unless its `llm` rule allows it for this signature at this confidence.
 */
export function decideChoice(playbooks: readonly LoadedPlaybook[], answer: DiagnosisAnswer, signature: string): LlmDecision {
  if (answer.playbook === null) return { kind: 'stop', reason: 'the model chose no playbook: left to a person' };
  const pb = playbooks.find((p) => p.playbook.name === answer.playbook);
  if (!pb) return { kind: 'stop', reason: `playbook "${answer.playbook}" is not loaded` };
  const rule = pb.playbook.llm;
  if (!rule?.auto) return { kind: 'approval', playbook: answer.playbook, reason: 'the playbook has no `llm: auto` rule' };
  const patterns = rule.signatures ?? [pb.playbook.on.event];
  if (!patterns.some((p) => subjectMatches(p, signature))) return { kind: 'approval', playbook: answer.playbook, reason: `\`llm: auto\` does not cover ${signature}` };
  if (answer.confidence < rule.min_confidence) return { kind: 'approval', playbook: answer.playbook, reason: `confidence ${answer.confidence} is below ${rule.min_confidence}` };
  return { kind: 'auto', playbook: answer.playbook, reason: `\`llm: auto\` at confidence ${answer.confidence} ≥ ${rule.min_confidence}` };
}
