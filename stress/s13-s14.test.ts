import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';
import { setup } from '../test/setup.js';

/** S13, S15 (and S14): data services broken by the chaos agent, detected by their check kinds, healed by the library playbooks. */
describe('stress S13/S14: data services', () => {
  it('S13: fills Redis to OOM, detects events.redis.memory_pressure, purges through redis-oom', async () => {
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const scenario = loadScenarios(scenariosDir(settings.root)).get('S13')!;
    const run = await runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
    expect(run.notes).toEqual([]);
    expect(run).toMatchObject({ id: 'S13', detected: true, recovered: true, playbook: 'redis-oom', runStatus: 'resolved', collateral: [], orphans: [], passed: true, served: true, approvalWaitMs: null });
    expect(run.mttdMs).toBeLessThanOrEqual(1500);
  });

  it('S15: keys outside the purge pattern: the runner approves FLUSHALL after 1 s; the wait is reported apart from MTTR, and Redis takes writes after', async () => {
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const scenario = loadScenarios(scenariosDir(settings.root)).get('S15')!;
    const t0 = performance.now();
    const run = await runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
    expect(run.notes).toEqual([]);
    expect(run).toMatchObject({ id: 'S15', detected: true, recovered: true, playbook: 'redis-oom', runStatus: 'resolved', passed: true, served: true });
    expect(run.approvalWaitMs).toBeGreaterThanOrEqual(1000);
    // MTTR leaves the wait out: inject → resolved minus the wait is less than the time the run took in all
    expect(run.mttrMs! + run.approvalWaitMs!).toBeLessThan(performance.now() - t0);
  });

  it('S14: holds every PostgreSQL slot, detects events.postgres.connection_exhaustion, terminates idle backends through postgres-connection-exhaustion', async () => {
    await using ctx = await setup();
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const scenario = loadScenarios(scenariosDir(settings.root)).get('S14')!;
    const run = await runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
    expect(run.notes).toEqual([]);
    expect(run).toMatchObject({ id: 'S14', detected: true, recovered: true, playbook: 'postgres-connection-exhaustion', runStatus: 'resolved', collateral: [], orphans: [], passed: true, served: true });
    expect(run.mttdMs).toBeLessThanOrEqual(1500);
  });
});
