import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderTable, summarise } from './index.js';
import type { RunReport } from './runner.js';
import type { Scenario } from './scenario.js';

const scenario = { id: 'S15', name: 'x', playbook: 'redis-oom', slo: { mttd: 1500, mttr: 3000 } } as Scenario;
const run = (n: number, mttrMs: number, approvalWaitMs: number | null): RunReport => ({
  id: 'S15', name: 'x', run: n, passed: true, detected: true, recovered: true, mttdMs: 900, mttrMs, approvalWaitMs, served: true, cutoffMs: null,
  coldStartMs: null, overheadMs: null, playbook: 'redis-oom', runStatus: 'resolved', collateral: [], orphans: [], notes: [],
});

describe('stress report: approval wait', () => {
  it('reports the approval wait in its own column, apart from MTTR, and judges the SLO on MTTR alone', () => {
    const report = summarise([run(1, 1200, 1000), run(2, 1400, 5000)], [scenario]);
    expect(report.summary[0]).toMatchObject({ mttr: { p95: 1400 }, approvalWait: { p50: 1000, p95: 5000 }, slo: { met: true } });
    const table = renderTable(report);
    expect(table).toMatch(/approval wait p50\/p95\/max/);
    expect(table).toContain('1000 ms / 5000 ms / 5000 ms');
    expect(renderMarkdown(report)).toMatch(/\| MTTR \| approval wait \|/);
  });

  it('has no approval column when no gate waited', () => {
    expect(renderTable(summarise([run(1, 1200, null)], [scenario]))).not.toMatch(/approval/);
  });
});
