import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { loadSettings } from '../config/index.js';
import { loadScenarios, runScenarioOnce, scenariosDir } from './index.js';

describe('S02 ACL spam', () => {
  it('detects the flood, cuts the actor off, notifies the webhook, and resolves the playbook', async () => {
    const posts: Record<string, unknown>[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as { port: number }).port;
    try {
      const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
      const scenario = loadScenarios(scenariosDir(settings.root)).get('S02')!;
      const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
      const report = await runScenarioOnce(scenario, 1, settings, log, () => undefined);
      expect(report.notes).toEqual([]);
      expect(report).toMatchObject({ passed: true, detected: true, recovered: true, playbook: 'message-bus-acl-violation', runStatus: 'resolved', collateral: [], orphans: [] });
      expect(report.cutoffMs).not.toBeNull();
      expect(report.mttdMs).not.toBeNull();
      // the cut-off follows detection, and the run resolves only after 3 s without a violation.
      // The quiet window starts at the last violation, which comes after detection (the 10th) but
      // may precede the cut-off the runner observes (it polls /connz every 10 ms): bound by detection.
      expect(report.cutoffMs!).toBeGreaterThan(report.mttdMs!);
      expect(report.mttrMs!).toBeGreaterThan(report.mttdMs! + 3000);
      // the playbook's own notification, beside the run's lifecycle notifications (received … resolved)
      const own = posts.filter((p) => p.stage === undefined);
      expect(posts.filter((p) => p.stage !== undefined).map((p) => p.stage)).toEqual(expect.arrayContaining(['received', 'resolved']));
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ severity: 'critical', target: 'rogue', message: expect.stringMatching(/^Blacklisted rogue for 5 min after ACL spam/) as string });
    } finally {
      hook.close();
    }
  });
});
