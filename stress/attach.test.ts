import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import { readProc } from '../targets/index.js';
import { attachedStack, loadScenarios, runScenarioOnce, scenariosDir } from './index.js';

describe('stress --attach', () => {
  it('scores S01 and S02 against a running stack as its operator, and leaves the stack running', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-attach-'));
    const runDir = join(home, 'run');
    const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: home, NATS_URL: '', HOMEOSTAT_WEBHOOK_URL: '', HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const stack = await startStack({ settings, log, dir: runDir, pidDir: runDir, record: false });
    try {
      const scenarios = loadScenarios(scenariosDir(settings.root));
      const attach = { operator: stack.credentials('operator'), targetsFile: settings.targetsFile, runDir };
      const pidsBefore = stack.pids();
      for (const id of ['S01', 'S02']) {
        const report = await runScenarioOnce(scenarios.get(id)!, 1, settings, log, () => undefined, () => attachedStack(attach, log));
        expect(report.notes, id).toEqual([]);
        expect(report, id).toMatchObject({ passed: true, detected: true, recovered: true, runStatus: 'resolved', collateral: [], orphans: [] });
      }
      // the runner started and stopped nothing: Homeostat's own processes (nats-server, chaos agent) are the same, alive
      const own = stack.homeostatPids().filter((p) => p !== process.pid);
      expect(own.length).toBeGreaterThanOrEqual(2);
      expect(own.filter((p) => !pidsBefore.includes(p) || readProc(p) === null)).toEqual([]);
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
