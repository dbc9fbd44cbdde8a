import { render } from 'preact';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { apply, emptyState, percentile, runsFromActive, runsFromSnapshot, type DashboardState, type Snapshot } from './dashboard-state';
import { BudgetBox } from './budget-box';
import { IncidentsView, RunbookView, TargetsView } from './history-views';
import { LiveConnection, type ConnectionState } from './live-connection';
import { takeTokenFromUrl } from './operator-token';
import { RunsView } from './runs-view';
import { ScorecardsView } from './scorecard-chart';
import './style.css';

/** Messages after which the snapshot (targets, incidents, runbook) is stale. */
const SNAPSHOT_CHANGES = /^(events\.(target|heartbeat|container|redis|postgres)\.|runs\.[^.]+\.(resolved|failed|stopped)$)/;

const TABS = ['runs', 'targets', 'incidents', 'runbook', 'scorecards'] as const;
type Tab = (typeof TABS)[number];

async function loadSnapshot(): Promise<Snapshot> {
  const res = await fetch('/dashboard/api/snapshot', { cache: 'no-store' });
  if (!res.ok) throw new Error(`snapshot: the server answered ${res.status}`);
  return (await res.json()) as Snapshot;
}

function ConnectionBadge(p: { c: ConnectionState }) {
  const c = p.c;
  const text = c.kind === 'live' ? 'live' : c.kind === 'connecting' ? (c.attempt ? `reconnecting (attempt ${c.attempt + 1})…` : 'connecting…') : `disconnected — retrying in ${Math.ceil(c.retryInMs / 1000)} s (${c.reason})`;
  return <span id="connection" class={`conn conn-${c.kind}`} data-state={c.kind}>{text}</span>;
}

/** Where the page's time goes (read by `npm run bench:dashboard`): the longest batch apply and render. */
const work = { longestApplyMs: 0, longestRenderMs: 0, renders: 0 };

function App() {
  const state = useRef<DashboardState>(emptyState());
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [conn, setConn] = useState<ConnectionState>({ kind: 'connecting', attempt: 0 });
  const [tab, setTab] = useState<Tab>((TABS as readonly string[]).includes(location.hash.slice(1)) ? (location.hash.slice(1) as Tab) : 'runs');
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    let refreshSoon: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      try {
        const snap = await loadSnapshot();
        state.current.snapshot = snap;
        runsFromSnapshot(state.current, snap.runs);
        runsFromActive(state.current, snap.active);
      } catch (e) {
        console.warn((e as Error).message);
      }
      rerender(0);
    };
    void refresh();
    const live = new LiveConnection('/dashboard/events', {
      onItems: (items) => {
        const t = Date.now();
        const t0 = performance.now();
        for (const i of items) apply(state.current, i, t);
        work.longestApplyMs = Math.max(work.longestApplyMs, performance.now() - t0);
        // targets and incidents come from the snapshot: read it again (at most every 2 s) when they change
        if (items.some((i) => SNAPSHOT_CHANGES.test(i.subject))) refreshSoon ??= setTimeout(() => void refresh().finally(() => (refreshSoon = undefined)), 2000);
        rerender(0);
      },
      onReset: () => void refresh(),
      onState: setConn,
    });
    live.start();
    (window as unknown as { homeostat: unknown }).homeostat = { state: state.current, live, refresh, work };
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const poll = setInterval(() => void refresh(), 15_000);
    return () => {
      live.stop();
      clearInterval(tick);
      clearInterval(poll);
      clearTimeout(refreshSoon);
    };
  }, []);

  const renderStart = performance.now();
  useLayoutEffect(() => {
    work.renders++;
    work.longestRenderMs = Math.max(work.longestRenderMs, performance.now() - renderStart);
  });
  const s = state.current;
  const snap = s.snapshot;
  const runs = [...s.runs.values()];
  const waiting = runs.filter((r) => r.status === 'awaiting_approval').length;
  const p95 = percentile(s.lagMs, 95);
  return (
    <div class="page">
      <header class="top">
        <h1>Homeostat</h1>
        <ConnectionBadge c={conn} />
        <span class="muted">{s.received} messages{p95 !== null ? ` · bus → page p95 ${Math.round(p95)} ms` : ''}{waiting ? ` · ${waiting} waiting for approval` : ''}</span>
      </header>
      <nav>
        {TABS.map((t) => (
          <a href={`#${t}`} class={t === tab ? 'active' : ''} data-tab={t} onClick={() => setTab(t)}>{t}{t === 'runs' && waiting ? ` (${waiting})` : ''}</a>
        ))}
      </nav>
      <main>
        {tab === 'runs' && <BudgetBox events={s.events} />}
        {tab === 'runs' && <RunsView runs={runs} now={now} />}
        {tab === 'targets' && <TargetsView targets={snap?.targets} live={s.targetEvents} now={now} />}
        {tab === 'incidents' && <IncidentsView incidents={snap?.incidents} events={s.events.slice(-100).reverse()} now={now} />}
        {tab === 'runbook' && <RunbookView runbook={snap?.runbook} />}
        {tab === 'scorecards' && <ScorecardsView scorecards={snap?.scorecards} />}
      </main>
    </div>
  );
}

takeTokenFromUrl();
render(<App />, document.getElementById('app')!);
