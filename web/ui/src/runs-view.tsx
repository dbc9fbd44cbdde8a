import { useEffect, useState } from 'preact/hooks';
import { ApprovalBox } from './approval-box';
import { applyRecorded, stepExit, stepHealth, type ActionView, type RunView } from './dashboard-state';
import { ago, ms, Params, TextOutput } from './text-output';

const ORDER: Record<string, number> = { awaiting_approval: 0, running: 1 };

/** The phases of a run as the reference notes name them, from what the run has done so far. */
function phaseOf(r: RunView): string {
  if (r.status === 'awaiting_approval') return 'awaiting approval';
  if (r.status !== 'running') return 'complete';
  const open = r.actions.find((x) => x.status === undefined);
  if (open) return 'executing';
  const last = r.steps.at(-1);
  if (last?.action && /\.(probe|health|memory|connections|cpu|top)$/.test(last.action)) return 'verifying';
  return r.steps.length ? 'result' : 'thinking';
}

const pctText = (v: number | null | undefined) => (typeof v === 'number' ? `${v} %` : '?');

function Action(p: { a: ActionView }) {
  const a = p.a;
  const health = typeof a.healthBefore === 'number' || typeof a.healthAfter === 'number';
  return (
    <div class="action" data-action={a.actionId}>
      <div>
        <code class="command">$ {a.command ?? a.action}</code> <span class={`status status-${a.status ?? 'pending'}`}>{a.status ?? 'executing…'}</span>
        {a.exitCode !== undefined && a.exitCode !== null && <span class="exit"> exit {a.exitCode}</span>} <span class="dur">{ms(a.durationMs)}</span>
        {health && <span class="health" data-testid="action-health"> health {pctText(a.healthBefore)} → {pctText(a.healthAfter)}</span>}
      </div>
      {a.command && <div class="muted">{a.action}</div>}
      <Params value={a.params} />
      {a.error && <div class="error">{a.error}</div>}
      <TextOutput label="stdout" text={a.stdout} />
      <TextOutput label="stderr" text={a.stderr} />
    </div>
  );
}

function Step(p: { r: RunView; i: number }) {
  const s = p.r.steps[p.i]!;
  const exit = stepExit(p.r, p.i);
  return (
    <tr class={`step step-${s.status}`} data-step={s.id}>
      <td>{s.id}{s.stage && s.stage !== 'main' ? ` (${s.stage})` : ''}</td>
      <td><code>{s.action ?? '—'}</code></td>
      <td class={`status status-${s.status}`}>{s.status}</td>
      <td>{s.attempts ?? '—'}</td>
      <td>{exit ?? '—'}</td>
      <td>{ms(s.durationMs)}</td>
      <td class="step-health">{stepHealth(p.r, p.i) ?? '—'}</td>
      <td>{s.reason ?? ''}</td>
    </tr>
  );
}

function recordedNote(r: RunView): string {
  const rec = r.recorded;
  if (!rec) return `no step seen yet (homeostat runs ${r.runId.slice(0, 12)})`;
  if (rec.state === 'error') return rec.error;
  return rec.state === 'loading' ? 'reading the recorded steps…' : 'no steps recorded';
}

/** A run the page did not see live: its steps and calls are read once from the store. */
function useRecorded(r: RunView, open: boolean, changed: () => void): void {
  useEffect(() => {
    if (!open || r.live || r.recorded || r.steps.length || r.actions.length || r.status === 'running' || r.status === 'awaiting_approval') return;
    r.recorded = { state: 'loading' };
    void fetch(`/dashboard/api/runs/${encodeURIComponent(r.runId)}`, { cache: 'no-store' })
      .then(async (res) => {
        if (!res.ok) throw new Error(((await res.json().catch(() => ({}))) as { error?: string }).error ?? `the server answered ${res.status}`);
        applyRecorded(r, await res.json());
        r.recorded = { state: 'loaded' };
      })
      .catch((e: unknown) => (r.recorded = { state: 'error', error: `not read from the store: ${(e as Error).message}` }))
      .finally(changed);
  }, [open, r.runId]);
}

function RunCard(p: { r: RunView; now: number; open: boolean; toggle: () => void }) {
  const r = p.r;
  const [, setLoaded] = useState(0);
  useRecorded(r, p.open, () => setLoaded((n) => n + 1));
  return (
    <section class={`run run-${r.status}`} data-run={r.runId} data-status={r.status}>
      <header onClick={p.toggle}>
        <span class={`badge status-${r.status}`}>{r.status.replace('_', ' ')}</span> <b>{r.playbook}</b> on {r.target ?? '—'} <span class="phase">{phaseOf(r)}</span>{' '}
        <span class="muted">{r.runId.slice(0, 12)} · started {ago(r.startedAt, p.now)}{r.endedAt ? ` · took ${ms(Date.parse(r.endedAt) - Date.parse(r.startedAt))}` : ''}</span>
      </header>
      {p.open && (
        <div class="run-body">
          {r.reason && <div class="reason">{r.reason}</div>}
          {r.awaiting && <ApprovalBox run={r} now={p.now} />}
          {r.decision && <div class="decision">{r.decision.decision === 'approve' ? 'approved' : 'rejected'} by {r.decision.by ?? '?'}{r.decision.reason ? `: ${r.decision.reason}` : ''}</div>}
          {r.steps.length > 0 && (
            <table class="steps">
              <thead><tr><th>step</th><th>action</th><th>status</th><th>attempts</th><th>exit</th><th>duration</th><th>health before → after</th><th>note</th></tr></thead>
              <tbody>{r.steps.map((_, i) => <Step key={i} r={r} i={i} />)}</tbody>
            </table>
          )}
          {r.actions.map((a) => <Action key={a.actionId} a={a} />)}
          {!r.steps.length && !r.actions.length && !r.awaiting && (
            <div class="muted">{recordedNote(r)}</div>
          )}
        </div>
      )}
    </section>
  );
}

/** Runs, waiting and active first; active runs open, so their steps and output stream in view. */
export function RunsView(p: { runs: RunView[]; now: number }) {
  const [opened, setOpened] = useState<Record<string, boolean>>({});
  const runs = [...p.runs].sort((a, b) => (ORDER[a.status] ?? 2) - (ORDER[b.status] ?? 2) || b.startedAt.localeCompare(a.startedAt)).slice(0, 100);
  if (!runs.length) return <p class="muted">No runs yet.</p>;
  return (
    <div class="runs">
      {runs.map((r) => {
        const open = opened[r.runId] ?? (r.status === 'running' || r.status === 'awaiting_approval' || Date.now() - Date.parse(r.endedAt ?? '') < 60_000);
        return <RunCard key={r.runId} r={r} now={p.now} open={open} toggle={() => setOpened({ ...opened, [r.runId]: !open })} />;
      })}
    </div>
  );
}
