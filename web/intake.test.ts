import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { DURABLE_STREAMS, ensureStream } from '../bus/index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';
import { ensureIntakeToken } from './intake-token.js';
import { startWebServer, type WebServer } from './web-server.js';

/** An Alertmanager (v0.27) webhook body, as its `webhook_configs` receiver sends it. */
function amBody(alerts: { name: string; status?: 'firing' | 'resolved'; fp: string; severity?: string; startsAt?: string }[], extra: Record<string, unknown> = {}) {
  return {
    receiver: 'homeostat',
    status: alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved',
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: { alertname: a.name, instance: 'worker-1:9100', job: 'node', severity: a.severity ?? 'critical' },
      annotations: { summary: `${a.name} on worker-1` },
      startsAt: a.startsAt ?? '2026-12-02T10:00:00.000Z',
      endsAt: a.status === 'resolved' ? '2026-12-02T10:05:00.000Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=up+%3D%3D+0',
      fingerprint: a.fp,
    })),
    groupLabels: { alertname: alerts[0]?.name ?? '' },
    commonLabels: { job: 'node' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="X"}',
    truncatedAlerts: 0,
    ...extra,
  };
}

async function startIntake(ctx: TestContext, opts: { bodyLimit?: number } = {}): Promise<{ web: WebServer; token: string; post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Response>; stored: () => Promise<number> }> {
  const engine = await ctx.connect('engine');
  await ensureStream(engine, DURABLE_STREAMS.events);
  const token = ensureIntakeToken(join(mkdtempSync(join(tmpdir(), 'homeostat-home-')), 'intake-token'));
  const web = await startWebServer({ bus: await ctx.connect('intake'), token, log: ctx.log, ...opts });
  ctx.defer(() => web.close());
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(web.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const jsm = await jetstreamManager(engine.nc);
  const stored = async () => (await jsm.streams.info(DURABLE_STREAMS.events.name)).state.messages;
  return { web, token, post, stored };
}

describe('alert intake over HTTP', () => {
  it('answers /healthz without a token; 401 and nothing published without or with a wrong token; the token file is 0600', async () => {
    await using ctx = await setup();
    const { web, post, stored } = await startIntake(ctx);
    expect((await fetch(web.url + '/healthz')).status).toBe(200);
    expect((await post('/alerts/alertmanager', amBody([{ name: 'Down', fp: 'a1' }]), { authorization: '' })).status).toBe(401);
    expect((await post('/alerts/alertmanager', amBody([{ name: 'Down', fp: 'a1' }]), { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await fetch(web.url + '/alerts/recent')).status).toBe(401);
    expect(await stored()).toBe(0);
    expect(web.stats.unauthorized).toBe(3);
    const file = join(mkdtempSync(join(tmpdir(), 'homeostat-home-')), 'sub', 'intake-token');
    const t = ensureIntakeToken(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ensureIntakeToken(file)).toBe(t);
  });

  it('publishes one events.alert.<alertname> per alert of a grouped body; re-sends start nothing new; resolved is its own event', async () => {
    await using ctx = await setup();
    const { post, stored, web, token } = await startIntake(ctx);
    const op = await ctx.connect('operator');
    const got = nextMessage<{ labels: Record<string, string>; status: string; fingerprint: string; generatorURL: string; annotations: Record<string, string> }>(op, 'events.alert.InstanceDown');
    await op.flush();
    const body = amBody([{ name: 'InstanceDown', fp: 'fp-1' }, { name: 'DiskFull', fp: 'fp-2', severity: 'warning' }]);
    const r = await post('/alerts/alertmanager', body);
    expect(r.status).toBe(202);
    expect(await r.json()).toMatchObject({ accepted: 2, duplicates: 0, truncatedAlerts: 0 });
    const ev = await got;
    expect(ev.data).toMatchObject({ status: 'firing', fingerprint: 'fp-1', labels: { severity: 'critical', instance: 'worker-1:9100' }, annotations: { summary: 'InstanceDown on worker-1' } });
    expect(ev.data.generatorURL).toContain('prometheus');
    expect(await stored()).toBe(2);
    // Alertmanager re-sends the group (retry after a timeout, or repeat_interval)
    const again = await post('/alerts/alertmanager', body);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(await stored()).toBe(2);
    // resolved: a new event with status resolved
    const resolved = nextMessage<{ status: string }>(op, 'events.alert.InstanceDown', (e) => e.data.status === 'resolved');
    await op.flush(); // the subscription is in place before the intake publishes
    const rr = await post('/alerts/alertmanager', amBody([{ name: 'InstanceDown', fp: 'fp-1', status: 'resolved' }]));
    expect(await rr.json()).toMatchObject({ accepted: 1 });
    await resolved;
    expect(await stored()).toBe(3);
    // an intake that forgot (restarted) still stores nothing twice within the stream's duplicate window
    const second = await startWebServer({ bus: await ctx.connect('intake', 'intake-2'), token: 't'.repeat(20), log: ctx.log });
    ctx.defer(() => second.close());
    const r3 = await fetch(second.url + '/alerts/alertmanager', { method: 'POST', headers: { authorization: `Bearer ${'t'.repeat(20)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await r3.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(await stored()).toBe(3);
    const recent = (await (await fetch(web.url + '/alerts/recent', { headers: { authorization: `Bearer ${token}` } })).json()) as { stats: unknown; alerts: { duplicate: boolean; status: string }[] };
    expect(recent.stats).toEqual({ accepted: 3, duplicates: 2 });
    expect(recent.alerts.map((a) => `${a.status}:${a.duplicate}`)).toEqual(['firing:false', 'firing:false', 'firing:true', 'firing:true', 'resolved:false']);
  });

  it('escapes alertnames that are not one subject token; reports truncatedAlerts', async () => {
    await using ctx = await setup();
    const { post } = await startIntake(ctx);
    const op = await ctx.connect('operator');
    const got = nextMessage<{ alertname: string }>(op, 'events.alert.>');
    await op.flush();
    const r = await post('/alerts/alertmanager', amBody([{ name: 'job:errors.rate > *', fp: 'x1' }], { truncatedAlerts: 3 }));
    expect(r.status).toBe(202);
    const body = (await r.json()) as { truncatedAlerts: number; events: { subject: string }[] };
    expect(body.truncatedAlerts).toBe(3);
    expect(body.events[0]!.subject).toBe('events.alert.job_errors_rate____');
    const ev = await got;
    expect(ev.subject).toBe('events.alert.job_errors_rate____');
    expect(ev.data.alertname).toBe('job:errors.rate > *');
  });

  it('refuses malformed JSON, a wrong version, a body over the limit and non-JSON, dead-lettering the body', async () => {
    await using ctx = await setup();
    const { post, stored } = await startIntake(ctx, { bodyLimit: 2048 });
    const op = await ctx.connect('operator');
    const dl = nextMessage<{ reason: string; raw: string }>(op, 'deadletter.intake', (e) => e.data.reason.startsWith('malformed JSON'));
    await op.flush();
    const bad = await post('/alerts/alertmanager', '{"version": "4", alerts: [');
    expect(bad.status).toBe(400);
    expect((await dl).data.raw).toBe('{"version": "4", alerts: [');
    const dl2 = nextMessage<{ reason: string; raw: string }>(op, 'deadletter.intake', (e) => e.data.reason.includes('version'));
    const v3 = await post('/alerts/alertmanager', { ...amBody([{ name: 'A', fp: 'b' }]), version: '3' });
    expect(v3.status).toBe(400);
    expect(((await v3.json()) as { error: string }).error).toContain('version');
    expect((await dl2).data.raw).toContain('"version":"3"');
    const dl3 = nextMessage<{ reason: string }>(op, 'deadletter.intake', (e) => e.data.reason.includes('over the limit'));
    const big = await post('/alerts/alertmanager', amBody([{ name: 'A', fp: 'x'.repeat(3000) }]));
    expect(big.status).toBe(413);
    await dl3;
    expect((await post('/incidents', 'hello', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(await stored()).toBe(0);
  });

  it('takes in AegisOps incidents, idempotent on incident_id', async () => {
    await using ctx = await setup();
    const { post, stored } = await startIntake(ctx);
    const op = await ctx.connect('operator');
    const got = nextMessage<{ labels: Record<string, string>; origin: string }>(op, 'events.alert.container_crash');
    await op.flush();
    const inc = { incident_id: 'inc-42', container_name: 'worker-1', alert_type: 'container_crash', severity: 'critical', logs: 'OOM', timestamp: '2026-12-02T10:00:00Z' };
    const r = await post('/incidents', inc);
    expect(r.status).toBe(202);
    const ev = await got;
    expect(ev.target).toBe('worker-1');
    expect(ev.data).toMatchObject({ origin: 'incident', labels: { severity: 'critical', container: 'worker-1' } });
    expect(await (await post('/incidents', inc)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await stored()).toBe(1);
    expect((await post('/incidents', { ...inc, incident_id: undefined })).status).toBe(400);
  });

  it("takes in Homeostat's own envelope form on POST /incidents, idempotent on its id; a wrong subject or shape is refused and dead-lettered", async () => {
    await using ctx = await setup();
    const { post, stored } = await startIntake(ctx);
    const op = await ctx.connect('operator');
    const got = nextMessage<{ alertname: string; status: string; labels: Record<string, string>; annotations: Record<string, string>; origin: string; fingerprint: string }>(op, 'events.alert.disk_full');
    const dead: string[] = [];
    op.nc.subscribe('deadletter.>', { callback: (_e, m) => void dead.push(m.json<{ data: { reason: string } }>().data.reason) });
    await op.flush();
    const env = {
      id: 'ev-7f3a', type: 'alert.disk_full', source: 'cron-checker', time: '2026-12-02T10:00:00Z', subject: 'events.alert.disk_full', target: 'db',
      data: { alertname: 'disk_full', severity: 'warning', labels: { mount: '/var' }, annotations: { summary: '/var at 97 %' } },
    };
    const r = await post('/incidents', env);
    expect(r.status).toBe(202);
    expect(await r.json()).toMatchObject({ accepted: 1, duplicates: 0, events: [{ subject: 'events.alert.disk_full' }] });
    const ev = await got;
    expect(ev.target).toBe('db');
    expect(ev.data).toMatchObject({ alertname: 'disk_full', status: 'firing', origin: 'envelope', fingerprint: 'ev-7f3a', labels: { alertname: 'disk_full', severity: 'warning', mount: '/var' }, annotations: { summary: '/var at 97 %' } });
    // the same id again (even with other fields) publishes nothing
    expect(await (await post('/incidents', { ...env, time: '2026-12-02T10:01:00Z' })).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await stored()).toBe(1);

    const wrongSubject = await post('/incidents', { ...env, id: 'ev-2', subject: 'events.target.exited' });
    expect(wrongSubject.status).toBe(400);
    expect((await wrongSubject.json()) as { error: string }).toMatchObject({ error: expect.stringContaining('is not events.alert.disk_full') as unknown });
    const noName = await post('/incidents', { ...env, id: 'ev-3', data: { severity: 'warning' } });
    expect(noName.status).toBe(400);
    expect((await noName.json()) as { error: string }).toMatchObject({ error: expect.stringContaining('data.alertname') as unknown });
    expect(await stored()).toBe(1);
    await op.flush();
    for (let end = Date.now() + 5000; dead.length < 2 && Date.now() < end; ) await new Promise((res) => setTimeout(res, 20));
    expect(dead).toEqual([expect.stringContaining('is not events.alert.disk_full'), expect.stringContaining('data.alertname')]);
  });
});
