import Table from 'cli-table3';
import { healthPctOf, type ActionRecord, type IncidentRecord, type RunbookEntry, type RunDetail, type RunSummary, type StepRecord } from '../store/index.js';

/** Renders the history (incidents, runs, the runbook) as terminal tables. */

const PLAIN = {
  chars: {
    top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
    left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
  },
  style: { head: ['bold'], border: [], 'padding-left': 0, 'padding-right': 0 },
};

export function table(head: string[], rows: (string | number)[][], color: boolean): string {
  const t = new Table({ head, ...PLAIN, style: { ...PLAIN.style, head: color ? ['bold'] : [] } });
  t.push(...rows.map((r) => r.map((c) => String(c))));
  return t.toString() + '\n';
}

export const shortId = (id: string | null) => (id ? id.slice(0, 12) : '-');
const time = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** 812 → "812 ms", 61_500 → "61.5 s", 3_720_000 → "62.0 min". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

const clip = (s: string | null | undefined, n = 60) => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);
const health = (h: Record<string, unknown> | null) => (h ? (h.healthy === true ? 'healthy' : h.healthy === false ? 'unhealthy' : '?') : '-');
const pctText = (p: number | null | undefined) => (p === null || p === undefined ? null : `${p} %`);
/** A step's health before → after: the % its action measured, else the % or healthy/unhealthy of the probes around it. */
function stepHealth(s: StepRecord, actions: ActionRecord[]): string {
  const mine = actions.filter((a) => a.stepSeq === s.seq);
  const before = pctText(mine[0]?.healthBeforePct) ?? pctText(healthPctOf(s.healthBefore)) ?? health(s.healthBefore);
  const after = pctText(mine.at(-1)?.healthAfterPct) ?? pctText(healthPctOf(s.healthAfter)) ?? health(s.healthAfter);
  return `${before} → ${after}`;
}

/** Each action call as an operator reads it: the command, then exit code, duration, health % and its output. */
function formatActionRecords(actions: ActionRecord[]): string {
  const out: string[] = [];
  for (const a of actions) {
    const health = a.healthBeforePct !== null || a.healthAfterPct !== null ? `  health ${pctText(a.healthBeforePct) ?? '?'} → ${pctText(a.healthAfterPct) ?? '?'}` : '';
    out.push(`--- action ${shortId(a.id)} ${a.action} (step ${a.stepSeq ?? '-'}) ${a.status}  exit ${a.exitCode ?? '-'}  ${duration(a.durationMs)}${health} ---`);
    out.push(`$ ${a.command ?? `${a.action} ${JSON.stringify(a.params)}`}`);
    if (a.stdout) out.push(a.stdout.replace(/\n$/, ''));
    if (a.stderr) out.push(`stderr: ${a.stderr.replace(/\n$/, '')}`);
    if (a.error) out.push(`error: ${a.error}`);
  }
  return out.length ? `\n${out.join('\n')}\n` : '';
}

const money = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toFixed(2));

/** The incidents, then what their downtime cost and what healing them avoided, when targets declare an `impact`. */
export function formatIncidents(incidents: IncidentRecord[], color: boolean): string {
  if (!incidents.length) return 'no incidents recorded\n';
  const text = table(
    ['INCIDENT', 'OPENED', 'TARGET', 'FAMILY', 'STATUS', 'EVENTS', 'RUNS', 'MTTR', 'DOWNTIME', 'COST', 'AVOIDED', 'SAVED', 'SIGNATURE', 'TRACE'],
    incidents.map((i) => [
      shortId(i.id), time(i.openedAt), i.target, i.family, i.status + (i.reopened ? ` (reopened ${i.reopened}×)` : ''), i.eventCount, i.runCount, duration(i.mttrMs),
      duration(i.downtimeMs), money(i.downtimeCost), duration(i.downtimeAvoidedMs), money(i.costAvoided), i.signature, i.traceId ?? '-',
    ]),
    color,
  );
  const sum = (f: (i: IncidentRecord) => number | null) => incidents.reduce((n, i) => n + (f(i) ?? 0), 0);
  const priced = incidents.some((i) => i.downtimeCost !== null);
  return `${text}downtime ${duration(sum((i) => i.downtimeMs))} in ${incidents.filter((i) => i.downtimeMs !== null).length} recovered incident(s)` +
    (incidents.some((i) => i.downtimeAvoidedMs !== null) ? `, ${duration(sum((i) => i.downtimeAvoidedMs))} avoided against manual repair` : '') +
    (priced ? `; cost ${money(sum((i) => i.downtimeCost))}, saved ${money(sum((i) => i.costAvoided))}` : '') + '\n';
}

export function formatRuns(runs: RunSummary[], color: boolean): string {
  if (!runs.length) return 'no runs recorded\n';
  return table(
    ['RUN', 'STARTED', 'PLAYBOOK', 'TARGET', 'STATUS', 'STEPS', 'DURATION', 'INCIDENT', 'REASON'],
    runs.map((r) => [shortId(r.id), time(r.startedAt), r.playbook, r.target, r.status, r.stepCount, duration(r.durationMs), shortId(r.incidentId), clip(r.reason)]),
    color,
  );
}

function formatOutputs(steps: StepRecord[]): string {
  const out: string[] = [];
  for (const s of steps) {
    for (const [name, text] of [['stdout', s.stdout], ['stderr', s.stderr]] as const) {
      if (!text) continue;
      out.push(`--- step ${s.seq} ${s.step} ${name} ---`, text.replace(/\n$/, ''));
    }
  }
  return out.length ? `\n${out.join('\n')}\n` : '';
}

export function formatRunDetail(d: RunDetail, color: boolean): string {
  const r = d.run;
  const lines = [
    `run        ${r.id}`,
    `playbook   ${r.playbook}`,
    `target     ${r.target}`,
    `status     ${r.status}${r.reason ? ` — ${r.reason}` : ''}`,
    `started    ${time(r.startedAt)}`,
    `ended      ${time(r.endedAt)}`,
    `duration   ${duration(r.durationMs)}`,
    `event      ${r.signature ?? '-'} ${r.eventId ? `(${r.eventId})` : ''}`.trimEnd(),
    `incident   ${d.incident ? `${d.incident.id} (${d.incident.status}, ${d.incident.eventCount} events, MTTR ${duration(d.incident.mttrMs)})` : '-'}`,
    `trace      ${r.traceId ?? d.incident?.traceId ?? '-'}`,
    '',
  ];
  let text = lines.join('\n') + '\n';
  text += d.steps.length
    ? table(
        ['#', 'STEP', 'ACTION', 'STATUS', 'ATTEMPTS', 'EXIT', 'DURATION', 'HEALTH BEFORE → AFTER', 'ERROR'],
        d.steps.map((s) => [s.seq, s.step, s.action ?? '-', s.status, s.attempts, s.exitCode ?? '-', duration(s.durationMs), stepHealth(s, d.actions), clip(s.error)]),
        color,
      )
    : 'no steps recorded\n';
  if (d.actions.length) {
    text += '\n' + table(
      ['ACTION ID', 'ACTION', 'STEP', 'STATUS', 'EXIT', 'DURATION', 'HEALTH % BEFORE → AFTER', 'REQUESTED', 'ERROR'],
      d.actions.map((a) => [
        shortId(a.id), a.action, a.stepSeq ?? '-', a.status, a.exitCode ?? '-', duration(a.durationMs),
        `${pctText(a.healthBeforePct) ?? '-'} → ${pctText(a.healthAfterPct) ?? '-'}`, time(a.requestedAt), clip(a.error),
      ]),
      color,
    );
  }
  if (d.approvals.length) {
    text += '\n' + table(
      ['DECIDED', 'STEP', 'DECISION', 'BY', 'REASON'],
      d.approvals.map((a) => [time(a.decidedAt), a.step ?? '-', a.decision, a.decidedBy, clip(a.reason)]),
      color,
    );
  }
  // a step's output is its last action's: shown once, with the action's command, when actions were recorded
  return text + (d.actions.length ? formatActionRecords(d.actions) : formatOutputs(d.steps));
}

export function formatRunbook(entries: RunbookEntry[], color: boolean): string {
  if (!entries.length) return 'the runbook is empty: no run has ended yet\n';
  return table(
    ['SIGNATURE', 'PLAYBOOK', 'RUNS', 'RESOLVED', 'FAILED', 'STOPPED', 'SUCCESS', 'AVG RESOLVE', 'LAST', 'LAST AT'],
    entries.map((e) => [e.signature, e.playbook, e.runs, e.resolved, e.failed, e.stopped, `${Math.round((100 * e.resolved) / e.runs)}%`, duration(e.avgResolveMs), e.lastStatus, time(e.lastAt)]),
    color,
  );
}
