import { useState } from 'preact/hooks';
import { ApprovalBox } from './approval-box';
import type { ActionView, RunView, StepView } from './dashboard-state';
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

function Action(p: { a: ActionView }) {
  const a = p.a;
  return (
    <div class="action" data-action={a.actionId}>
      <div>
        <code>$ {a.action}</code> <span class={`status status-${a.status ?? 'pending'}`}>{a.status ?? 'executing…'}</span>
        {a.exitCode !== undefined && a.exitCode !== null && <span class="exit"> exit {a.exitCode}</span>} <span class="dur">{ms(a.durationMs)}</span>
      </div>
      <Params value={a.params} />
      {a.error && <div class="error">{a.error}</div>}
      <TextOutput label="stdout" text={a.stdout} />
      <TextOutput label="stderr" text={a.stderr} />
    </div>
  );
}

function Step(p: { s: StepView }) {
  const s = p.s;
  return (
    <tr class={`step step-${s.status}`} data-step={s.id}>
      <td>{s.id}{s.stage && s.stage !== 'main' ? ` (${s.stage})` : ''}</td>
      <td><code>{s.action ?? '—'}</code></td>
      <td class={`status status-${s.status}`}>{s.status}</td>
      <td>{s.attempts ?? '—'}</td>
      <td>{ms(s.durationMs)}</td>
      <td>{s.reason ?? ''}</td>
    </tr>
  );
}

function RunCard(p: { r: RunView; now: number; open: boolean; toggle: () => void }) {
  const r = p.r;
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
              <thead><tr><th>step</th><th>action</th><th>status</th><th>attempts</th><th>duration</th><th>note</th></tr></thead>
              <tbody>{r.steps.map((s, i) => <Step key={i} s={s} />)}</tbody>
            </table>
          )}
          {r.actions.map((a) => <Action key={a.actionId} a={a} />)}
          {!r.steps.length && !r.actions.length && !r.awaiting && <div class="muted">no step seen live (recorded before this page opened: homeostat runs {r.runId.slice(0, 12)})</div>}
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
