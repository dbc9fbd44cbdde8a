import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import { loadTargets } from '../targets/index.js';
import { nextMessage } from '../test/setup.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

/** The agent_actions record of a data-service fix, end to end: handler → results → recorder → store → `homeostat runs ID`. */
describe('action records of a data-service fix', () => {
  it('homeostat runs ID shows redis.purge with its command, exit code, output, duration and health % before and after', async () => {
    const ctx = { dir: mkdtempSync(join(tmpdir(), 'homeostat-actions-')), log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) };
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: ctx.dir, DATABASE_URL: '', HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const targets = loadTargets(join(settings.root, 'stress', 'scenarios', 'targets', 'S13-redis.yaml'));
    const stack = await startStack({ settings, log: ctx.log, dir: join(ctx.dir, 'run'), targets, chaos: true });
    try {
      const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', ctx.log);
      const healthy = nextMessage(op, 'heartbeat.worker-1', () => true, 15_000);
      await op.flush();
      await healthy;
      for (let end = Date.now() + 15_000; !stack.healthMonitor.state('cache').checks.every((c) => c.ok === true) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
      const resolved = nextMessage(op, 'runs.*.resolved', (e) => e.data.target === 'cache', 30_000, RunPhaseData);
      await op.flush();
      op.nc.publish('chaos.redis_fill', JSON.stringify({ target: 'cache' }));
      const runId = (await resolved).data.runId;
      await op.close();
      await stack.recorder!.idle();

      const env = { ...process.env, HOMEOSTAT_HOME: ctx.dir, DATABASE_URL: '', LOG_LEVEL: 'warn' as const };
      const one = (await run(process.execPath, [main, 'runs', runId], { env })).stdout;
      const m = /--- action \w+ redis\.purge \(step 1\) ok {2}exit 0 {2}[\d.]+ m?s {2}health ([\d.]+) % → ([\d.]+) % ---\n\$ redis-cli -h 127\.0\.0\.1 -p 16413 --scan --pattern 'cache:\*' \| xargs redis-cli UNLINK\ndeleted \d+ of \d+ scanned keys/.exec(one);
      expect(m, one).not.toBeNull();
      expect(Number(m![1])).toBeLessThan(30);
      expect(Number(m![2])).toBeGreaterThan(80);
      expect(one).toMatch(/1\s+purge\s+redis\.purge\s+ok\s+1\s+0\s+[\d.]+ m?s\s+[\d.]+ % → [\d.]+ %/);
      const detail = JSON.parse((await run(process.execPath, [main, 'runs', runId, '--json'], { env })).stdout) as { actions: Record<string, unknown>[] };
      expect(detail.actions[0]).toMatchObject({ action: 'redis.purge', status: 'ok', exitCode: 0, command: expect.stringContaining('redis-cli') as unknown, healthBeforePct: expect.any(Number) as unknown, healthAfterPct: expect.any(Number) as unknown });
    } finally {
      await stack.stop();
      rmSync(ctx.dir, { recursive: true, force: true });
    }
  });
});
