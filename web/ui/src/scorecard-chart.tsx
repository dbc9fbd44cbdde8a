type Row = Record<string, unknown>;
interface Kept { at: string; passed: number; failed: number; summary: Row[] }
type Stats = { p50: number | null; p95: number | null };

const W = 420;
const H = 140;
const PAD = 30;

/** One line chart (SVG, no library): the p50 and p95 of one figure per kept scorecard, over time. */
function Chart(p: { title: string; points: { at: string; v: Stats }[] }) {
  const vals = p.points.flatMap((x) => [x.v.p50, x.v.p95]).filter((v): v is number => typeof v === 'number');
  if (!vals.length) return <div class="chart muted">{p.title}: no figures</div>;
  const max = Math.max(...vals) || 1;
  const x = (i: number) => PAD + (p.points.length === 1 ? (W - 2 * PAD) / 2 : (i * (W - 2 * PAD)) / (p.points.length - 1));
  const y = (v: number) => H - PAD / 2 - (v / max) * (H - PAD);
  const line = (k: 'p50' | 'p95') => p.points.map((pt, i) => (pt.v[k] === null ? '' : `${x(i)},${y(pt.v[k])}`)).filter(Boolean).join(' ');
  return (
    <figure class="chart">
      <figcaption>{p.title} <span class="legend p50">p50</span> <span class="legend p95">p95</span> <span class="muted">max {Math.round(max)} ms</span></figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={p.title}>
        <line x1={PAD} y1={H - PAD / 2} x2={W - PAD} y2={H - PAD / 2} class="axis" />
        <polyline points={line('p50')} class="p50" fill="none" />
        <polyline points={line('p95')} class="p95" fill="none" />
        {p.points.map((pt, i) => (pt.v.p95 === null ? null : <circle cx={x(i)} cy={y(pt.v.p95)} r="2.5" class="p95"><title>{`${pt.at}: p50 ${pt.v.p50} ms, p95 ${pt.v.p95} ms`}</title></circle>))}
      </svg>
    </figure>
  );
}

/** The last scorecard as a table, and MTTD/MTTR p50/p95 over the kept scorecards per scenario. */
export function ScorecardsView(p: { scorecards: unknown }) {
  const kept = (Array.isArray(p.scorecards) ? p.scorecards : []) as Kept[];
  if (!kept.length) return <p class="muted">No scorecard kept yet: run <code>homeostat stress S01</code> (each run is kept in $HOMEOSTAT_HOME/scorecards).</p>;
  const last = kept.at(-1)!;
  const ids = [...new Set(kept.flatMap((k) => k.summary.map((s) => String(s.id))))].sort();
  const series = (id: string, key: 'mttd' | 'mttr') => kept.flatMap((k) => k.summary.filter((s) => s.id === id).map((s) => ({ at: k.at, v: (s[key] ?? { p50: null, p95: null }) as Stats })));
  return (
    <div>
      <h3>Last scorecard ({last.at}): {last.passed} passed, {last.failed} failed</h3>
      <table class="grid">
        <thead><tr><th>scenario</th><th>runs</th><th>passed</th><th>MTTD p50/p95</th><th>MTTR p50/p95</th><th>SLO</th></tr></thead>
        <tbody>
          {last.summary.map((s) => {
            const d = s.mttd as Stats;
            const r = s.mttr as Stats;
            return <tr><td>{String(s.id)}</td><td>{String(s.runs)}</td><td>{String(s.passed)}</td><td>{d.p50 ?? '—'} / {d.p95 ?? '—'} ms</td><td>{r.p50 ?? '—'} / {r.p95 ?? '—'} ms</td><td>{(s.slo as { met?: boolean }).met ? 'met' : 'missed'}</td></tr>;
          })}
        </tbody>
      </table>
      {ids.map((id) => (
        <div class="chart-row" data-scenario={id}>
          <Chart title={`${id} MTTD`} points={series(id, 'mttd')} />
          <Chart title={`${id} MTTR`} points={series(id, 'mttr')} />
        </div>
      ))}
    </div>
  );
}
