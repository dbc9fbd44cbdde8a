import { z } from 'zod';
import { loadYamlFile } from '../config/index.js';
import { makeEnvelope } from '../bus/index.js';
import { candidatesOf, matchTrigger, type Diagnoser, type DiagnosisReport, type LoadedPlaybook } from '../playbooks/index.js';

const LabelledIncident = z
  .object({
    id: z.string().min(1),
    scenario: z.string().optional().describe('The stress scenario it comes from (S01 …).'),
    subject: z.string().regex(/^events\.[\w-]+\.[\w.-]+$/),
    target: z.string().min(1),
    data: z.record(z.string(), z.unknown()).default({}),
    logs: z.array(z.object({ name: z.string(), text: z.string() }).strict()).default([]),
    expect: z.string().nullable().describe('The right playbook, or null: stop and leave it to a person.'),
    note: z.string().optional(),
  })
  .strict();

export const EvaluationSetSchema = z
  .object({
    allow: z.array(z.string()).optional().describe('The allow-list offered to the model (default: every playbook without a diagnose step).'),
    incidents: z.array(LabelledIncident).min(1),
  })
  .strict();
export type EvaluationSet = z.infer<typeof EvaluationSetSchema>;

export interface EvaluatedIncident {
  id: string;
  expect: string | null;
  /** What today's trigger matching starts (highest priority), or null. */
  baseline: string | null;
  /** What the model chose (null: stop, or no usable answer). */
  model: string | null;
  modelAnswered: boolean;
  latencyMs: number;
  costUsd: number;
  reason?: string;
}

export interface EvaluationReport {
  incidents: EvaluatedIncident[];
  baselineAgreement: number;
  modelAgreement: number | null;
  /** Answers the guard accepted / incidents. */
  answered: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  costPerIncidentUsd: number | null;
}

export const loadEvaluationSet = (file: string): EvaluationSet => loadYamlFile(file, EvaluationSetSchema);

const hasDiagnose = (pb: LoadedPlaybook) => pb.playbook.steps.some((s) => s.diagnose);

/** Today's rule-based choice: the matching playbook of highest priority (triage playbooks left out). */
export function ruleChoice(playbooks: readonly LoadedPlaybook[], subject: string, target: string, data: Record<string, unknown>): string | null {
  const env = makeEnvelope(subject.slice('events.'.length), 'evaluation', data, { subject, target });
  const hits = playbooks.filter((p) => !hasDiagnose(p) && matchTrigger(p, env).ok).sort((a, b) => b.playbook.priority - a.playbook.priority);
  return hits[0]?.playbook.name ?? null;
}

export function percentile(xs: readonly number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * Runs a labelled set: for each incident, the rule-based baseline and (when a diagnoser is given)
 * the model, and their agreement with the labels. A model with no usable answer counts as "stop".
 */
export async function evaluate(set: EvaluationSet, playbooks: readonly LoadedPlaybook[], diagnoser: Diagnoser | null): Promise<EvaluationReport> {
  const allow = set.allow ?? playbooks.filter((p) => !hasDiagnose(p)).map((p) => p.playbook.name);
  const candidates = candidatesOf(playbooks, allow);
  const out: EvaluatedIncident[] = [];
  for (const inc of set.incidents) {
    const baseline = ruleChoice(playbooks, inc.subject, inc.target, inc.data);
    let report: DiagnosisReport | null = null;
    if (diagnoser) {
      const ev = makeEnvelope(inc.subject.slice('events.'.length), 'evaluation', inc.data, { subject: inc.subject, target: inc.target });
      const metrics = Object.fromEntries(Object.entries(inc.data).filter(([, v]) => typeof v === 'number'));
      report = await diagnoser.diagnose({ incidentKey: `eval:${inc.id}`, signature: inc.subject, target: inc.target, events: [ev], metrics, logs: inc.logs, runbook: [], candidates });
    }
    out.push({
      id: inc.id, expect: inc.expect, baseline, model: report?.answer?.playbook ?? null, modelAnswered: Boolean(report?.answer),
      latencyMs: report?.latencyMs ?? 0, costUsd: report?.costUsd ?? 0, ...(report?.reason ? { reason: report.reason } : {}),
    });
  }
  const n = out.length;
  const lat = diagnoser ? out.map((o) => o.latencyMs) : [];
  return {
    incidents: out,
    baselineAgreement: out.filter((o) => o.baseline === o.expect).length / n,
    modelAgreement: diagnoser ? out.filter((o) => o.model === o.expect).length / n : null,
    answered: out.filter((o) => o.modelAnswered).length,
    latencyP50Ms: percentile(lat, 50),
    latencyP95Ms: percentile(lat, 95),
    costPerIncidentUsd: diagnoser ? out.reduce((s, o) => s + o.costUsd, 0) / n : null,
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(0)} %`);

/** The evaluation as text: one line per incident, then the figures side by side. */
export function formatEvaluation(r: EvaluationReport): string {
  const name = (s: string | null) => s ?? 'stop';
  const lines = r.incidents.map((o) => `${o.id.padEnd(28)} expect ${name(o.expect).padEnd(31)} rules ${name(o.baseline).padEnd(31)} ${o.baseline === o.expect ? '✓' : '✗'}  model ${(o.modelAnswered ? name(o.model) : `(no answer)`).padEnd(31)} ${r.modelAgreement === null ? '' : o.model === o.expect ? '✓' : '✗'}`);
  return [
    ...lines,
    '',
    `agreement with the labels: rules ${pct(r.baselineAgreement)}, model ${pct(r.modelAgreement)} (${r.incidents.length} incidents, ${r.answered} usable model answers)`,
    `model latency p50 ${r.latencyP50Ms === null ? 'n/a' : `${r.latencyP50Ms.toFixed(0)} ms`}, p95 ${r.latencyP95Ms === null ? 'n/a' : `${r.latencyP95Ms.toFixed(0)} ms`}; cost per incident ${r.costPerIncidentUsd === null ? 'n/a' : `$${r.costPerIncidentUsd.toFixed(5)}`}`,
  ].join('\n');
}
