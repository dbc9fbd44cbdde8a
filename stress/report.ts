import type { Scenario } from './scenario.js';
import type { RunReport } from './runner.js';

export interface Stats {
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export interface ScenarioSummary {
  id: string;
  name: string;
  runs: number;
  passed: number;
  playbook: string;
  mttd: Stats;
  mttr: Stats;
  /** Inject → the actor's connection closed by the server (scenarios with `cutoff`). */
  cutoff: Stats | null;
  /** The restarted program's cold start, and MTTR minus it (runs that restarted a program). */
  coldStart: Stats;
  overhead: Stats;
  /** Time approval gates waited for the runner's approval (scenarios with `approve`), left out of MTTR. */
  approvalWait: Stats;
  slo: { mttdMs: number; mttrMs: number; cutoffMs?: number; overheadMs?: number; met: boolean };
}

export interface StressReport {
  scenarios: RunReport[];
  summary: ScenarioSummary[];
  passed: number;
  failed: number;
  ok: boolean;
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function stats(values: number[]): Stats {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: values.length ? Math.max(...values) : null };
}

export function summarise(runs: RunReport[], scenarios: Scenario[]): StressReport {
  const summary = scenarios.map((s): ScenarioSummary => {
    const mine = runs.filter((r) => r.id === s.id);
    const mttd = stats(mine.flatMap((r) => (r.mttdMs === null ? [] : [r.mttdMs])));
    const mttr = stats(mine.flatMap((r) => (r.mttrMs === null ? [] : [r.mttrMs])));
    const cutoff = s.cutoff ? stats(mine.flatMap((r) => (r.cutoffMs === null || r.cutoffMs === undefined ? [] : [r.cutoffMs]))) : null;
    const coldStart = stats(mine.flatMap((r) => (r.coldStartMs === null || r.coldStartMs === undefined ? [] : [r.coldStartMs])));
    const overhead = stats(mine.flatMap((r) => (r.overheadMs === null || r.overheadMs === undefined ? [] : [r.overheadMs])));
    const approvalWait = stats(mine.flatMap((r) => (r.approvalWaitMs === null || r.approvalWaitMs === undefined ? [] : [r.approvalWaitMs])));
    const cutoffMet = !cutoff || s.slo.cutoff === undefined || (cutoff.p95 !== null && cutoff.p95 <= s.slo.cutoff);
    const overheadMet = s.slo.overhead === undefined || (overhead.p95 !== null && overhead.p95 <= s.slo.overhead);
    const met = mttd.p95 !== null && mttr.p95 !== null && mttd.p95 <= s.slo.mttd && mttr.p95 <= s.slo.mttr && cutoffMet && overheadMet;
    const slo = { mttdMs: s.slo.mttd, mttrMs: s.slo.mttr, ...(s.slo.cutoff !== undefined ? { cutoffMs: s.slo.cutoff } : {}), ...(s.slo.overhead !== undefined ? { overheadMs: s.slo.overhead } : {}), met };
    return { id: s.id, name: s.name, runs: mine.length, passed: mine.filter((r) => r.passed).length, playbook: s.playbook, mttd, mttr, cutoff, coldStart, overhead, approvalWait, slo };
  });
  const passed = runs.filter((r) => r.passed).length;
  return { scenarios: runs, summary, passed, failed: runs.length - passed, ok: runs.length > 0 && passed === runs.length && summary.every((s) => s.slo.met) };
}

const fmt = (v: number | null) => (v === null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const fmtStats = (s: Stats, many: boolean) => (many ? `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.max)}` : fmt(s.p50));
const withCutoff = (report: StressReport) => report.summary.some((s) => s.cutoff);
const withColdStart = (report: StressReport) => report.summary.some((s) => s.coldStart.p50 !== null);
const withApproval = (report: StressReport) => report.summary.some((s) => s.approvalWait.p50 !== null);

function rows(report: StressReport): string[][] {
  const many = report.summary.some((s) => s.runs > 1);
  return report.summary.map((s) => {
    const notes = [...new Set(report.scenarios.filter((r) => r.id === s.id).flatMap((r) => r.notes))];
    const cut = withCutoff(report) ? [s.cutoff ? fmtStats(s.cutoff, many) : '—'] : [];
    const cutSlo = s.slo.cutoffMs !== undefined ? ` / cut-off ≤ ${fmt(s.slo.cutoffMs)}` : '';
    const overSlo = s.slo.overheadMs !== undefined ? ` / overhead ≤ ${fmt(s.slo.overheadMs)}` : '';
    const cold = withColdStart(report) ? [s.coldStart.p50 !== null ? fmtStats(s.coldStart, many) : '—', s.overhead.p50 !== null ? fmtStats(s.overhead, many) : '—'] : [];
    const wait = withApproval(report) ? [s.approvalWait.p50 !== null ? fmtStats(s.approvalWait, many) : '—'] : [];
    return [
      s.id,
      `${s.passed}/${s.runs}`,
      fmtStats(s.mttd, many),
      ...cut,
      fmtStats(s.mttr, many),
      ...wait,
      ...cold,
      `≤ ${fmt(s.slo.mttdMs)} / ≤ ${fmt(s.slo.mttrMs)}${cutSlo}${overSlo} ${s.slo.met ? 'met' : 'MISSED'}`,
      s.playbook,
      notes.slice(0, 3).join('; ') || '—',
    ];
  });
}

function headers(report: StressReport): string[] {
  const many = report.summary.some((s) => s.runs > 1);
  const suffix = many ? ' p50/p95/max' : '';
  const cut = withCutoff(report) ? [`cut-off${suffix}`] : [];
  const cold = withColdStart(report) ? [`cold start${suffix}`, `overhead${suffix}`] : [];
  const wait = withApproval(report) ? [`approval wait${suffix}`] : [];
  return ['scenario', 'passed', `MTTD${suffix}`, ...cut, `MTTR${suffix}`, ...wait, ...cold, 'SLO (p95 MTTD / MTTR)', 'playbook', 'notes'];
}

/** A plain-text table for the terminal. */
export function renderTable(report: StressReport): string {
  const h = headers(report);
  const r = rows(report);
  const widths = h.map((x, i) => Math.max(x.length, ...r.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(h), widths.map((w) => '-'.repeat(w)).join('  '), ...r.map(line), '', `${report.passed} passed, ${report.failed} failed${report.ok ? '' : ' — NOT OK'}`].join('\n');
}

export function renderMarkdown(report: StressReport): string {
  const h = headers(report);
  const r = rows(report);
  const md = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  const perRun = report.scenarios.map((x) => md([x.id, String(x.run), x.passed ? 'yes' : 'no', fmt(x.mttdMs), ...(withCutoff(report) ? [fmt(x.cutoffMs)] : []), fmt(x.mttrMs), ...(withApproval(report) ? [fmt(x.approvalWaitMs)] : []), x.playbook ?? '—', x.notes.join('; ') || '—']));
  return [
    '# Homeostat stress scorecard',
    '',
    md(h),
    md(h.map(() => '---')),
    ...r.map(md),
    '',
    `**${report.passed} passed, ${report.failed} failed.**`,
    '',
    '## Runs',
    '',
    md(['scenario', 'run', 'passed', 'MTTD', ...(withCutoff(report) ? ['cut-off'] : []), 'MTTR', ...(withApproval(report) ? ['approval wait'] : []), 'playbook', 'notes']),
    md(['---', '---', '---', '---', ...(withCutoff(report) ? ['---'] : []), '---', ...(withApproval(report) ? ['---'] : []), '---', '---']),
    ...perRun,
    '',
  ].join('\n');
}
