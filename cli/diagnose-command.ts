import type { Logger } from 'pino';
import { makeEnvelope, newId } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { evaluate, formatEvaluation, loadEvaluationSet, openDiagnoser } from '../diagnosis/index.js';
import { ACTION_REGISTRY } from '../handlers/index.js';
import { candidatesOf, loadPlaybookDir, type DiagnosisReport } from '../playbooks/index.js';
import {
  openStore,
  queryHistory,
  saveDiagnosisOverBus,
  StoreError,
  StoreLockedError,
  type DiagnosisRecord,
  type HistoryKind,
  type HistoryQuery,
  type IncidentRecord,
  type RunbookEntry,
} from '../store/index.js';
import { connectToRunningStack } from './history-commands.js';
import { CliError } from './errors.js';

export interface DiagnoseOptions {
  json?: boolean;
  evaluate?: string;
  /** Comma-separated allow-list (default: every playbook without a diagnose step). */
  playbooks?: string;
}

/** `homeostat diagnose --evaluate SET`: agreement of the model and of the rules with the labels. */
async function evaluateCommand(file: string, o: DiagnoseOptions, settings: Readonly<Settings>, log: Logger): Promise<number> {
  const set = loadEvaluationSet(file);
  const playbooks = loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
  const { diagnoser, unavailable } = openDiagnoser(settings.llm, log);
  const report = await evaluate(set, playbooks, diagnoser);
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(formatEvaluation(report) + (unavailable ? `\n(model not evaluated: ${unavailable})` : '') + '\n');
  return 0;
}

function print(report: DiagnosisReport, o: DiagnoseOptions, incidentId: string): void {
  if (o.json) {
    process.stdout.write(JSON.stringify({ incidentId, ...report }, null, 2) + '\n');
    return;
  }
  const a = report.answer;
  const lines = a
    ? [`root cause:    ${a.root_cause}`, `playbook:      ${a.playbook ?? 'none (stop: a person should look)'}`, `confidence:    ${a.confidence}`, `justification: ${a.justification}`]
    : [`no usable answer: ${report.reason ?? 'unknown'}`];
  lines.push(`provider:      ${report.provider ?? '-'} ${report.model ?? ''}  (${report.calls.length} call(s), ${report.latencyMs.toFixed(0)} ms, ${report.tokens} tokens, ~$${report.costUsd.toFixed(5)})`);
  for (const c of report.calls.filter((c) => c.outcome !== 'accepted')) lines.push(`  ${c.provider} attempt ${c.attempt}: ${c.outcome}: ${c.reason ?? ''}`);
  lines.push('advice only: nothing was run (a diagnose step in a playbook starts the chosen playbook, with approval).');
  process.stdout.write(lines.join('\n') + '\n');
}

/** Where `homeostat diagnose` reads the incident and keeps its diagnosis: the store, or the running stack's recorder. */
interface IncidentSource {
  getIncident(id: string): Promise<IncidentRecord | null>;
  runbook(q: { signature: string }): Promise<RunbookEntry[]>;
  saveDiagnosis(d: DiagnosisRecord): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the configured store; when a running `homeostat up` holds the embedded one, asks that
 * stack's recorder over the bus instead (as `homeostat incidents` does).
 */
async function openIncidentSource(settings: Readonly<Settings>, log: Logger): Promise<IncidentSource> {
  try {
    const store = await openStore({ databaseUrl: settings.databaseUrl, storeDir: settings.storeDir, log });
    return { getIncident: (id) => store.getIncident(id), runbook: (q) => store.runbook(q), saveDiagnosis: (d) => store.saveDiagnosis(d), close: () => store.close() };
  } catch (e) {
    if (!(e instanceof StoreLockedError)) {
      if (e instanceof StoreError) throw new CliError(e.message, 2);
      throw e;
    }
    const bus = await connectToRunningStack(settings, log, e);
    const ask = async <T>(kind: HistoryKind, q: HistoryQuery): Promise<T> => {
      try {
        return (await queryHistory(bus, kind, q)) as T;
      } catch (err) {
        throw new CliError(`the running Homeostat did not answer the history query: ${(err as Error).message}`, 2);
      }
    };
    return {
      getIncident: (id) => ask<IncidentRecord | null>('incident', { id }),
      runbook: (q) => ask<RunbookEntry[]>('runbook', q),
      saveDiagnosis: (d) => saveDiagnosisOverBus(bus, d),
      close: () => bus.close(),
    };
  }
}

/**
 * `homeostat diagnose INCIDENT_ID`: asks the providers about a recorded incident and prints the
 * answer; the diagnosis is stored with the incident. Never runs anything.
 */
export async function diagnoseCommand(incidentId: string | undefined, o: DiagnoseOptions, settings: Readonly<Settings>, log: Logger): Promise<number> {
  if (o.evaluate) return evaluateCommand(o.evaluate, o, settings, log);
  if (!incidentId) throw new CliError('give an INCIDENT_ID (see `homeostat incidents`) or --evaluate SET', 2);
  const { diagnoser, unavailable } = openDiagnoser(settings.llm, log);
  if (!diagnoser) throw new CliError(unavailable!, 2);
  const playbooks = loadPlaybookDir(settings.playbooksDir, { actions: ACTION_REGISTRY });
  const allow = o.playbooks ? o.playbooks.split(',').map((s) => s.trim()) : playbooks.filter((p) => !p.playbook.steps.some((s) => s.diagnose)).map((p) => p.playbook.name);
  const source = await openIncidentSource(settings, log);
  try {
    const incident = await source.getIncident(incidentId);
    if (!incident) throw new CliError(`no incident ${incidentId} (see \`homeostat incidents\`)`, 1);
    const ev = makeEnvelope(incident.signature.split('.').slice(1).join('.'), 'store', { ...incident.metrics }, { subject: incident.signature, target: incident.target });
    const log_ = incident.errorLogs.map((l) => `${l.time} ${l.subject} ${l.message}`).join('\n');
    const runbook = (await source.runbook({ signature: incident.signature })).map((r) => ({ signature: r.signature, playbook: r.playbook, runs: r.runs, resolved: r.resolved, lastStatus: r.lastStatus }));
    const report = await diagnoser.diagnose({
      incidentKey: incident.id, signature: incident.signature, target: incident.target, events: [ev], metrics: incident.metrics,
      logs: log_ ? [{ name: 'incident log', text: log_ }] : [], runbook, candidates: candidatesOf(playbooks, allow),
    });
    const rec: DiagnosisRecord = {
      id: newId(), incidentId: incident.id, runId: null, step: null, signature: incident.signature, target: incident.target, provider: report.provider ?? null, model: report.model ?? null,
      latencyMs: report.latencyMs, tokens: report.tokens, costUsd: report.costUsd, answer: report.answer ? { ...report.answer } : null,
      decision: { kind: 'advice', reason: 'printed by homeostat diagnose; nothing was run' }, calls: report.calls.map((c) => ({ ...c })), reason: report.reason ?? null, createdAt: new Date(),
    };
    let saved = true;
    try {
      await source.saveDiagnosis(rec);
    } catch (e) {
      saved = false;
      log.warn({ err: (e as Error).message }, 'diagnosis not kept in the store');
      process.stderr.write(`homeostat: the diagnosis was not kept in the store: ${(e as Error).message}\n`);
    }
    print(report, o, incident.id);
    return report.answer && saved ? 0 : 1;
  } finally {
    await source.close();
  }
}
