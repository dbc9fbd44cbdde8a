import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import { alertsCommand } from '../cli/alerts-command.js';

/** Slack's incoming webhook, answering `ok`. */
async function slackOk() {
  const bodies: { text: string }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(raw) as { text: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/X`, bodies, close: () => new Promise((r) => server.close(r)) };
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]!;

describe('alert intake in the stack', () => {
  it('an Alertmanager alert starts the library playbook once, its notification reaches Slack; alert → run started p95 is printed', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-home-'));
    const slack = await slackOk();
    const notifyFile = join(home, 'notify.yaml');
    writeFileSync(notifyFile, `sinks:\n  - kind: slack\n    name: ops\n    url: ${slack.url}\n    severities: [critical]\n`);
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_NOTIFY: notifyFile, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const stack = await startStack({ settings, log, targets: [], chaos: false, record: false, dir: join(home, 'run') });
    try {
      const web = stack.web!;
      expect(statSync(settings.intakeTokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
      const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', log);
      const started = new Map<string, number>();
      op.subscribe('runs.*.started', RunPhaseData, (env) => {
        if (env.data.playbook === 'alert-critical-notify' && env.data.eventId) started.set(env.data.eventId, performance.now());
      });
      await op.flush();
      const post = (fp: string, instance = fp) =>
        fetch(`${web.url}/alerts/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            version: '4', status: 'firing', receiver: 'homeostat', groupKey: 'g', truncatedAlerts: 0, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '',
            alerts: [{ status: 'firing', labels: { alertname: 'InstanceDown', severity: 'critical', instance }, annotations: {}, startsAt: '2026-12-02T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: fp }],
          }),
        });
      const lat: number[] = [];
      for (let i = 0; i < 40; i++) {
        const t0 = performance.now();
        const res = await post(`fp-${i}`);
        expect(res.status).toBe(202);
        const { events } = (await res.json()) as { events: { eventId: string }[] };
        const id = events[0]!.eventId;
        for (const end = Date.now() + 5000; !started.has(id) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 1));
        expect(started.has(id), `run for ${id}`).toBe(true);
        lat.push(started.get(id)! - t0);
      }
      process.stdout.write(`alert posted → run started: p95 ${p95(lat).toFixed(1)} ms over ${lat.length} alerts\n`);
      // re-sent: no second run
      const again = (await (await post('fp-0')).json()) as { duplicates: number };
      expect(again.duplicates).toBe(1);
      for (let end = Date.now() + 10_000; slack.bodies.length < 40 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      // Slack has the last body before the sink has read its answer and counted it
      await stack.notifier.idle();
      expect(slack.bodies.length).toBe(40);
      expect(slack.bodies[0]!.text).toContain('alert InstanceDown firing (alertmanager)');
      expect(started.size).toBe(40);
      expect(stack.notifier.stats().ops).toMatchObject({ sent: 40, failed: 0 });
      expect(readFileSync(join(home, 'intake-token'), 'utf8').trim()).toBe(token);
      // homeostat alerts: what came in and what each became
      let printed = '';
      await alertsCommand(settings, { limit: 3 }, { write: (t: string) => (printed += t) });
      expect(printed).toContain('40 taken in, 1 re-sends');
      expect(printed).toMatch(/InstanceDown.*re-send of [0-9a-f]{12} \(nothing published\)/);
      expect(printed).toMatch(/events\.alert\.InstanceDown [0-9a-f]{12}/);
      await op.close();
    } finally {
      await stack.stop();
      await slack.close();
    }
  });
});
