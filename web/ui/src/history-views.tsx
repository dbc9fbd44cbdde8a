import type { EventView } from './dashboard-state';
import { ago, ms, visibleText } from './text-output';

type Row = Record<string, unknown>;
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);
function s(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return visibleText(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
}

function Failed(p: { v: unknown; what: string }) {
  const err = (p.v as { error?: string } | null)?.error;
  return err ? <p class="error">{p.what} unavailable: {err}</p> : null;
}

/** Targets with a badge per check: last result, failures, restarts, and the last health event seen live. */
export function TargetsView(p: { targets: unknown; live: Map<string, EventView>; now: number }) {
  const list = rows(p.targets);
  return (
    <div>
      <Failed v={p.targets} what="targets" />
      <div class="targets">
        {list.map((t) => {
          const status = (t.status ?? {}) as Row;
          const health = (t.health ?? {}) as { healthy?: boolean; running?: boolean; checks?: Row[] };
          const ev = p.live.get(String(t.name));
          const liveBad = ev && /unhealthy|missed|exited|crashed|oom|unreachable|pressure/.test(ev.subject);
          const healthy = ev ? !liveBad : health.healthy;
          return (
            <div class={`target ${healthy === false ? 'bad' : healthy ? 'good' : ''}`} data-target={String(t.name)}>
              <div class="target-head"><b>{s(t.name)}</b> <span class="muted">{s(t.driver)}</span> <span class={`badge ${healthy === false ? 'status-failed' : 'status-resolved'}`}>{healthy === false ? 'unhealthy' : healthy ? 'healthy' : 'unknown'}</span></div>
              <div class="muted">{status.running ? `running, pid ${s(status.pid)}` : 'not running'} · restarts {s(status.restarts)}{status.startError ? ` · start failed: ${s(status.startError)}` : ''}</div>
              {(health.checks ?? []).map((c) => (
                <div class={`check ${c.unhealthy ? 'bad' : c.ok ? 'good' : ''}`}>
                  {s(c.name)} ({s(c.kind)}): {c.ok === null ? 'not run yet' : c.ok ? 'ok' : 'failing'} · failures {s(c.failures)}{(c.lastResult as Row | undefined)?.reason ? ` · ${s((c.lastResult as Row).reason)}` : ''}
                </div>
              ))}
              {ev && <div class="live-event">{ev.subject} {ago(ev.time, p.now)}</div>}
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** Incidents from the store, open ones first, with MTTR; then the last events seen live. */
export function IncidentsView(p: { incidents: unknown; events: EventView[]; now: number }) {
  const list = [...rows(p.incidents)].sort((a, b) => Number(a.status === 'resolved') - Number(b.status === 'resolved'));
  return (
    <div>
      <Failed v={p.incidents} what="incidents (the recorder)" />
      <table class="grid">
        <thead><tr><th>status</th><th>target</th><th>signature</th><th>opened</th><th>events</th><th>runs</th><th>MTTR / downtime</th></tr></thead>
        <tbody>
          {list.map((i) => (
            <tr class={`incident status-${s(i.status)}`}>
              <td>{s(i.status)}</td><td>{s(i.target)}</td><td><code>{s(i.signature)}</code></td><td>{ago(String(i.openedAt), p.now)}</td>
              <td>{s(i.eventCount)}</td><td>{s(i.runCount)}</td><td>{i.mttrMs === null ? `open for ${ms(p.now - Date.parse(String(i.openedAt)))}` : ms(i.mttrMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Events (live)</h3>
      <ul class="events">
        {p.events.slice(0, 100).map((e) => (
          <li data-event={e.id}><code>{e.subject}</code> {e.target ?? ''} <span class="muted">{ago(e.time, p.now)}</span></li>
        ))}
      </ul>
    </div>
  );
}

/** What worked per signature: runs, resolved share, average time to resolve. */
export function RunbookView(p: { runbook: unknown }) {
  return (
    <div>
      <Failed v={p.runbook} what="runbook (the recorder)" />
      <table class="grid">
        <thead><tr><th>signature</th><th>playbook</th><th>runs</th><th>resolved</th><th>failed</th><th>stopped</th><th>avg resolve</th><th>last</th></tr></thead>
        <tbody>
          {rows(p.runbook).map((r) => (
            <tr><td><code>{s(r.signature)}</code></td><td>{s(r.playbook)}</td><td>{s(r.runs)}</td><td>{s(r.resolved)}</td><td>{s(r.failed)}</td><td>{s(r.stopped)}</td><td>{ms(r.avgResolveMs)}</td><td>{s(r.lastStatus)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
