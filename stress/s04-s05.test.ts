import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';
import { setup } from '../test/setup.js';

/** S04 and S05 end to end: real programs Homeostat did not write, broken by the chaos agent, healed by the library playbooks. */
describe('stress S04/S05: services that do not heartbeat', () => {
  for (const [id, playbook] of [
    ['S04', 'target-crash-restart'],
    ['S05', 'target-unhealthy-restart'],
  ] as const) {
    it(`${id}: detects the fault from ${id === 'S04' ? 'the exit event' : 'the failing http check'}, restarts through ${playbook}, no collateral, no orphans`, async () => {
      await using ctx = await setup();
      const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
      const scenario = loadScenarios(scenariosDir(settings.root)).get(id)!;
      const run = await runScenarioOnce(scenario, 1, settings, ctx.log, () => undefined);
      expect(run.notes).toEqual([]);
      expect(run).toMatchObject({ id, detected: true, recovered: true, playbook, runStatus: 'resolved', collateral: [], orphans: [], passed: true });
      // recovery came from a restart: a new process started after the fault and passed the checks
      expect(run.coldStartMs).toBeGreaterThan(0);
      expect(run.overheadMs).toBeGreaterThan(0);
      expect(run.mttrMs).toBeGreaterThan(run.mttdMs!);
    });
  }
});
