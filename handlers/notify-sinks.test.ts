import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActionResultData, newId, subjects } from '../bus/index.js';
import { ConfigFileError } from '../config/index.js';
import { setup } from '../test/setup.js';
import { fakeSlack } from '../test/fake-slack.js';
import { ActionServer } from './action-server.js';
import { notifySend } from './notify-actions.js';
import { loadNotifyConfig, NotifyConfig } from './notify-config.js';
import { NotifyRouter } from './notify-router.js';

/** A port nothing listens on: a sink that is down for the whole run. */
async function downUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}/hook`;
}

const sink = (name: string, url: string, extra: Record<string, unknown> = {}) => ({ kind: 'slack', name, url, backoff: 20, maxBackoff: 100, timeout: 300, retries: 2, ...extra });

describe('notification sinks', () => {
  it('posts a Block Kit message to Slack; routes by severity', async () => {
    await using ctx = await setup();
    const slack = await fakeSlack(['ok']);
    ctx.defer(() => slack.close());
    const router = new NotifyRouter(NotifyConfig.parse({ sinks: [sink('slack', slack.url, { severities: ['critical'] }), { kind: 'log', name: 'log' }] }), ctx.log);
    ctx.defer(() => router.close());
    expect(router.send({ message: 'minor', severity: 'info' })).toEqual({ queued: ['log'], dropped: [] });
    expect(router.send({ message: 'worker-1 down', severity: 'critical', target: 'worker-1', details: { playbook: 'target-crash-restart', mttrMs: 412 } })).toEqual({ queued: ['log', 'slack'], dropped: [] });
    await router.idle();
    expect(slack.received).toHaveLength(1);
    const body = slack.received[0]!.body as { text: string; blocks: { type: string; fields?: { text: string }[] }[] };
    expect(body.text).toBe('CRITICAL: worker-1 down');
    expect(body.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
    expect(body.blocks[1]!.fields!.map((f) => f.text)).toEqual(expect.arrayContaining(['*Target:* worker-1', '*playbook:* target-crash-restart', '*mttrMs:* 412']));
    expect(router.stats().slack).toMatchObject({ sent: 1, failed: 0 });
  });

  it('honours 429 Retry-After, retries 500 with backoff, and does not retry a 400', async () => {
    await using ctx = await setup();
    const slack = await fakeSlack(['429', '500', 'ok', '400']);
    ctx.defer(() => slack.close());
    const router = new NotifyRouter(NotifyConfig.parse({ sinks: [sink('slack', slack.url, { retries: 3 })] }), ctx.log);
    ctx.defer(() => router.close());
    router.send({ message: 'a', severity: 'critical' });
    await router.idle();
    expect(slack.received).toHaveLength(3);
    expect(slack.received[1]!.at - slack.received[0]!.at).toBeGreaterThanOrEqual(950); // Retry-After: 1
    expect(router.stats().slack).toMatchObject({ sent: 1, retried: 2, failed: 0 });
    router.send({ message: 'b', severity: 'critical' });
    await router.idle();
    expect(slack.received).toHaveLength(4);
    expect(router.stats().slack).toMatchObject({ sent: 1, failed: 1 });
  });

  it('a hanging Slack and a sink that is down never delay notify.send; each failure is counted', async () => {
    await using ctx = await setup();
    const slack = await fakeSlack(['hang']);
    ctx.defer(() => slack.close());
    const router = new NotifyRouter(NotifyConfig.parse({ sinks: [sink('slack', slack.url, { retries: 1, queue: 3 }), sink('down', await downUrl(), { kind: 'webhook', retries: 1 })] }), ctx.log);
    ctx.defer(() => router.close());
    const handler = await ctx.connect('handler');
    const server = new ActionServer(handler, ctx.log).register(notifySend(ctx.log, router));
    server.start();
    ctx.defer(() => server.stop());
    await handler.flush();
    const engine = await ctx.connect('engine');
    const call = async (message: string) => {
      const actionId = newId();
      const t0 = performance.now();
      const res = await engine.call(subjects.action('notify', 'send'), actionId, { actionId, action: 'notify.send', params: { message, severity: 'critical' } }, ActionResultData, 5000);
      return { ms: performance.now() - t0, res: res.data };
    };
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { ms, res } = await call(`n${i}`);
      times.push(ms);
      expect(res.status).toBe('ok');
    }
    // answered at once although Slack hangs (300 ms per attempt) and the webhook refuses connections
    expect(Math.max(...times)).toBeLessThan(200);
    const last = await call('overflow');
    expect(last.res.result).toMatchObject({ delivered: true });
    await router.idle();
    const st = router.stats();
    expect(st.slack!.failed + st.slack!.dropped).toBe(6);
    expect(st.slack!.dropped).toBeGreaterThan(0); // queue of 3 behind a hanging sink
    expect(st.down).toMatchObject({ failed: 6, sent: 0 });
  });

  it('refuses a bad sinks file with file:line:col', () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-notify-'));
    const file = join(dir, 'notify.yaml');
    writeFileSync(file, 'sinks:\n  - kind: slack\n    name: ops\n    url: not-a-url\n  - kind: pager\n    name: x\n');
    expect(() => loadNotifyConfig(file)).toThrow(ConfigFileError);
    try {
      loadNotifyConfig(file);
    } catch (e) {
      expect((e as Error).message).toMatch(/notify\.yaml:4:\d+: sinks\.0\.url/);
    }
    expect(loadNotifyConfig(join(dir, 'missing.yaml')).sinks).toEqual([{ kind: 'log', name: 'log', severities: ['info', 'warning', 'critical'] }]);
  });
});
