import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { freshStack, loadScenarios, runScenarioOnce, scenariosDir } from './index.js';
import { setup } from '../test/setup.js';

describe('/metrics after an S01 run', () => {
  it('counts the resolved heartbeat-restart run and puts its MTTR in the right bucket (Prometheus text format, parsed)', async () => {
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const s01 = loadScenarios(scenariosDir(settings.root)).get('S01')!;
    let scrape = '';
    let contentType = '';
    const run = await runScenarioOnce(s01, 1, settings, ctx.log, () => undefined, () =>
      freshStack(settings, ctx.log, undefined, async (stack) => {
        const res = await fetch(`${stack.web!.url}/metrics`);
        contentType = res.headers.get('content-type') ?? '';
        scrape = await res.text();
      }),
    );
    expect(run).toMatchObject({ detected: true, recovered: true, playbook: 'heartbeat-restart', runStatus: 'resolved' });
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheus(scrape).map((f) => [f.name, f]));

    const runs = families.get('homeostat_runs_total')!;
    expect(runs.type).toBe('COUNTER');
    expect(runs.metrics).toContainEqual({ labels: { playbook: 'heartbeat-restart', outcome: 'resolved' }, value: '1' });

    const mttr = families.get('homeostat_mttr_seconds')!;
    expect(mttr.type).toBe('HISTOGRAM');
    // the parser keeps a histogram's buckets (not its labels, _sum or _count): those are read from their sample lines
    expect(mttr.metrics).toHaveLength(1);
    const heartbeat = mttr.metrics[0]!;
    expect(scrape).toMatch(/^homeostat_mttr_seconds_count\{family="heartbeat"\} 1$/m);
    const seconds = Number(/^homeostat_mttr_seconds_sum\{family="heartbeat"\} (\S+)$/m.exec(scrape)![1]);
    expect(seconds).toBeGreaterThan(0);
    // the run's recovery is counted in every bucket at or above it, and in none below
    for (const [le, n] of Object.entries(heartbeat.buckets!)) expect(n).toBe(Number(le) >= seconds || le === '+Inf' ? '1' : '0');
    // detection → recovery is within the scenario's own inject → recovery
    expect(seconds * 1000).toBeLessThanOrEqual(run.mttrMs!);

    const events = families.get('homeostat_events_total')!;
    expect(events.metrics.some((m) => m.labels?.family === 'heartbeat' && m.labels.kind === 'missed' && Number(m.value) >= 1)).toBe(true);
    expect(scrape).toMatch(/^homeostat_action_duration_seconds_count\{action="process.restart",status="ok"\} 1$/m);
    for (const name of ['homeostat_deadletters_total', 'homeostat_acl_violations_total', 'homeostat_flap_budget_exhausted_total', 'homeostat_approvals_waiting', 'homeostat_store_queue_depth', 'homeostat_downtime_seconds_total', 'homeostat_mttd_seconds', 'homeostat_otel_spans'])
      expect(families.has(name), name).toBe(true);
    expect(Number(families.get('homeostat_downtime_seconds_total')!.metrics.find((m) => m.labels?.target === 'worker-1')?.value)).toBeCloseTo(seconds, 3);
  });
});
