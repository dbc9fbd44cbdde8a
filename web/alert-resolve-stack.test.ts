import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BusClient, RunPhaseData } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from '../stack/index.js';
import type { IncidentRecord } from '../store/index.js';

/** One Alertmanager webhook body (version 4) as Alertmanager sends it, for one alert. */
function amBody(a: { fp: string; status: 'firing' | 'resolved'; severity: string; instance: string; startsAt: string; endsAt?: string }): string {
  const alert = {
    status: a.status,
    labels: { alertname: 'InstanceDown', severity: a.severity, instance: a.instance },
    annotations: { summary: `${a.instance} is down` },
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=up+%3D%3D+0',
    fingerprint: a.fp,
  };
  return JSON.stringify({
    version: '4', status: a.status, receiver: 'homeostat', groupKey: '{}:{alertname="InstanceDown"}', truncatedAlerts: 0,
    groupLabels: { alertname: 'InstanceDown' }, commonLabels: alert.labels, commonAnnotations: alert.annotations, externalURL: 'http://alertmanager:9093', alerts: [alert],
  });
}

describe('an Alertmanager resolved alert in the stack (real HTTP, bus and store)', () => {
  it('resolves the incident its firing alert opened; when a run had already healed it, the resolve is recorded and nothing reopens or runs', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-home-'));
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, DATABASE_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_NOTIFY: join(home, 'none.yaml'), HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    // the library's playbooks: alert-critical-notify runs for a critical firing alert, none for a warning
    const stack = await startStack({ settings, log, targets: [], chaos: false, record: true, storeDir: join(home, 'store'), dir: join(home, 'run') });
    try {
      const store = stack.store!;
      const token = readFileSync(settings.intakeTokenFile, 'utf8').trim();
      const op = await BusClient.connect(stack.credentials('operator'), 'test-operator', log);
      const runs: { target: string; phase: string }[] = [];
      op.subscribe('runs.*.*', RunPhaseData, (env) => {
        runs.push({ target: env.data.target ?? '', phase: env.subject?.split('.')[2] ?? '' });
      });
      await op.flush();
      const post = async (body: string) => {
        const res = await fetch(`${stack.web!.url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
        expect(res.status).toBe(202);
        return (await res.json()) as { accepted: number; duplicates: number };
      };
      /** The stored incident of `target` once it satisfies `ok` (the recorder writes behind the bus). */
      const incidentOf = async (target: string, ok: (i: IncidentRecord) => boolean): Promise<IncidentRecord> => {
        let last: IncidentRecord | undefined;
        for (const end = Date.now() + 10_000; Date.now() < end; ) {
          await stack.recorder!.idle();
          const found = await store.listIncidents({ target });
          last = found[0];
          if (found.length === 1 && ok(found[0]!)) return found[0]!;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`incident of ${target} never satisfied the check; last: ${JSON.stringify(last)}`);
      };

      // 1. a warning: no playbook runs, the incident stays open until Alertmanager says resolved
      const startsAt = new Date(Date.now() - 60_000).toISOString();
      expect((await post(amBody({ fp: 'fp-warn', status: 'firing', severity: 'warning', instance: 'db-1', startsAt }))).accepted).toBe(1);
      const open = await incidentOf('db-1', (i) => i.eventCount === 1);
      expect(open).toMatchObject({ family: 'alert', status: 'open', runCount: 0, resolvedAt: null, mttrMs: null });
      expect((await post(amBody({ fp: 'fp-warn', status: 'resolved', severity: 'warning', instance: 'db-1', startsAt, endsAt: new Date().toISOString() }))).accepted).toBe(1);
      const healed = await incidentOf('db-1', (i) => i.status === 'resolved');
      expect(healed).toMatchObject({ id: open.id, status: 'resolved', eventCount: 2, runCount: 0, reopened: 0 });
      expect(healed.resolvedAt).not.toBeNull();
      expect(healed.mttrMs).toBe(healed.resolvedAt!.getTime() - healed.openedAt.getTime());
      expect(healed.errorLogs.at(-1)?.message).toBe('resolved at the alert source');
      // Alertmanager re-sends the resolved notification: the intake answers duplicate, the incident is unchanged
      expect(await post(amBody({ fp: 'fp-warn', status: 'resolved', severity: 'warning', instance: 'db-1', startsAt, endsAt: new Date().toISOString() }))).toMatchObject({ accepted: 0, duplicates: 1 });

      // 2. a critical alert: the playbook's run heals the incident first; the later resolve is recorded only
      expect((await post(amBody({ fp: 'fp-crit', status: 'firing', severity: 'critical', instance: 'web-1', startsAt }))).accepted).toBe(1);
      const byRun = await incidentOf('web-1', (i) => i.status === 'resolved' && i.runCount === 1);
      expect(runs.filter((r) => r.target === 'web-1').map((r) => r.phase)).toEqual(expect.arrayContaining(['started', 'resolved']));
      expect((await post(amBody({ fp: 'fp-crit', status: 'resolved', severity: 'critical', instance: 'web-1', startsAt, endsAt: new Date().toISOString() }))).accepted).toBe(1);
      const recorded = await incidentOf('web-1', (i) => i.eventCount === 2);
      expect(recorded).toMatchObject({ id: byRun.id, status: 'resolved', runCount: 1, reopened: 0, mttrMs: byRun.mttrMs });
      expect(recorded.resolvedAt?.getTime()).toBe(byRun.resolvedAt?.getTime());
      expect(recorded.errorLogs.at(-1)?.message).toBe('resolved at the alert source; the incident was already resolved');
      await stack.engine.whenIdle();
      expect(runs.filter((r) => r.target === 'web-1' && r.phase === 'started')).toHaveLength(1);
      expect(stack.engine.stats.started).toBe(1);
      await op.close();
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
