import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BudgetExhaustedData, RunPhaseData, subjects, TargetExitedData, BusClient } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { ACTION_REGISTRY } from '../handlers/index.js';
import { parsePlaybook } from '../playbooks/index.js';
import { TargetsFileSchema } from '../targets/index.js';
import { setup } from '../test/setup.js';
import { startStack } from './stack.js';

/** The library's target-crash-restart with its waits scaled down (back-off 100 ms doubling, verify 300 ms, 3 runs). */
function fastCrashRestart(root: string) {
  const file = join(root, 'playbooks', 'library', 'target-crash-restart.yaml');
  const text = readFileSync(file, 'utf8')
    .replace(/^budget: .*$/m, 'budget: { runs: 3, per: 10m }')
    .replace(/^backoff: .*$/m, 'backoff: { initial: 100ms, factor: 2, max: 1s, reset: 10m }')
    .replace(/within: 15s/, 'within: 300ms');
  return parsePlaybook(file, text, { actions: ACTION_REGISTRY });
}

describe('a target that exits at every start', () => {
  it('is restarted at once, then with growing back-off, and escalated (budget exhausted, critical notification) instead of looped', async () => {
    await using ctx = await setup();
    const notifications: { message: string; severity: string; target?: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as (typeof notifications)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as { port: number }).port;
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: ctx.dir, HOMEOSTAT_LOG_FORMAT: 'json', HOMEOSTAT_WEBHOOK_URL: `http://127.0.0.1:${port}/` }, false);
    const targets = TargetsFileSchema.parse({ targets: [{ name: 'crashy', driver: 'process', command: process.execPath, args: ['-e', 'process.exit(3)'] }] }).targets;
    const stack = await startStack({ settings, log: ctx.log, chaos: false, targets, playbooks: [fastCrashRestart(settings.root)] });
    try {
      const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', ctx.log);
      const exits: TargetExitedData[] = [];
      const starts: number[] = [];
      let exhausted: BudgetExhaustedData | null = null;
      op.subscribe(subjects.event('target', 'exited'), TargetExitedData, (env) => void exits.push(env.data));
      op.subscribe(subjects.runsAll, RunPhaseData, (env) => {
        if (env.subject?.endsWith('.started')) starts.push(env.data.detail?.backoffMs ?? 0);
      });
      op.subscribe(subjects.event('playbook', 'budget_exhausted'), BudgetExhaustedData, (env) => void (exhausted = env.data));
      await op.flush();
      await stack.registry.startAll();
      const deadline = Date.now() + 20_000;
      while (!(exhausted && notifications.some((n) => /ran 3 times/.test(n.message))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(exhausted).toMatchObject({ playbook: 'target-crash-restart', target: 'crashy', runs: 3 });
      expect(starts).toEqual([0, 100, 200]);
      expect(exits.length).toBeGreaterThanOrEqual(4);
      expect(exits[0]).toMatchObject({ target: 'crashy', code: 3, signal: null });
      expect(notifications.find((n) => /ran 3 times/.test(n.message))).toMatchObject({ severity: 'critical', target: 'crashy' });
      // escalated, not looped: the engine is idle, three restarts were made and no more
      await stack.engine.whenIdle();
      expect(stack.engine.stats.started).toBe(3);
      await op.close();
    } finally {
      await stack.stop();
      hook.close();
    }
  });
});
