import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';

describe('S03 CPU spike, one run end to end', () => {
  it('detects the spike in worker-1, kills its busy children, verifies CPU, with no collateral', async () => {
    // The scorecard uses the reference 10 s window; here a 3 s window keeps the suite short.
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-s03-'));
    try {
      const monitors = join(dir, 'monitors.yaml');
      writeFileSync(monitors, 'resource:\n  cpu: { threshold: 80, window: 3s, recovery: 60 }\n');
      const settings = loadSettings({ ...process.env, HOMEOSTAT_MONITORS: monitors, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
      const scenario = loadScenarios(scenariosDir(settings.root)).get('S03')!;
      const phases: string[] = [];
      const report = await runScenarioOnce(scenario, 1, settings, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), (_id, _run, phase) => void phases.push(phase));
      expect(report.notes).toEqual([]);
      expect(report).toMatchObject({ detected: true, recovered: true, playbook: 'resource-pressure-cpu', runStatus: 'resolved', collateral: [], orphans: [], passed: true });
      expect(report.mttdMs).toBeGreaterThan(2000);
      expect(phases).toContain('waiting for detection');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
