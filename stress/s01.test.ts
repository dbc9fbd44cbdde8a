import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { loadScenarios, runScenarioOnce, scenariosDir, summarise } from './index.js';
import { setup } from '../test/setup.js';

describe('stress S01 (heartbeat pause) end to end', () => {
  it('detects the frozen worker, restarts it through the playbook, and leaves no process behind', async () => {
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const s01 = loadScenarios(scenariosDir(settings.root)).get('S01')!;
    const phases: string[] = [];
    const run = await runScenarioOnce(s01, 1, settings, ctx.log, (_id, _run, phase) => phases.push(phase));
    expect(run.notes).toEqual([]);
    expect(run).toMatchObject({ id: 'S01', detected: true, recovered: true, playbook: 'heartbeat-restart', runStatus: 'resolved', collateral: [], orphans: [], passed: true });
    expect(run.mttdMs).toBeGreaterThan(0);
    expect(run.mttrMs).toBeGreaterThan(run.mttdMs!);
    expect(phases).toContain('waiting for detection');
    const report = summarise([run], [s01]);
    expect(report.scenarios).toHaveLength(1);
    expect(report.passed).toBe(1);
  });
});
