import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BusClient } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { wireDashboard } from '../stack/dashboard-wiring.js';
import { startStack } from '../stack/index.js';
import { launchBrowser } from '../bench/headless-chromium.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { setup, type TestContext } from '../test/setup.js';
import { throwawaySchema } from '../test/postgres.js';
import { HistoryService, openStore, Recorder } from '../store/index.js';
import { startWebServer } from './index.js';

/**
 * The dashboard end to end in Debian's headless Chromium: a real nats-server, a real engine, the
 * stack's HTTP server with its live feed, and the built page (dist/web-ui, `npm run build`).
 */

const GATED = `name: gated-dashboard
on:
  event: events.test.dashboard
steps:
  - id: diagnose
    action: test.other
    with: { target: "{{ event.target }}" }
  - id: fix
    action: test.fix
    with: { target: "{{ event.target }}", mode: soft }
    risk: high
    approval: required
    approval_timeout: 1m
`;

const HOSTILE_STDOUT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\n\x1b[31mRED\x1b[0m done';

async function dashboard(ctx: TestContext, opts: { port?: number; wiring?: Awaited<ReturnType<typeof wireDashboard>> } = {}) {
  const settings = loadSettings({ ...process.env, HOMEOSTAT_HOME: join(ctx.dir, 'home'), HOMEOSTAT_LOG_FORMAT: 'json' }, false);
  const wiring = opts.wiring ?? (await wireDashboard({ settings, log: ctx.log, credentials: (r) => ctx.nats.credentials(r) }));
  if (!opts.wiring) ctx.defer(() => wiring.stop());
  const web = await startWebServer({ bus: await ctx.connect('intake'), token: 'intake-token-for-the-test', log: ctx.log, port: opts.port ?? 0, dashboard: wiring.options });
  ctx.defer(() => web.close());
  return { web, wiring, token: wiring.options.token };
}

describe('dashboard in a real browser', () => {
  it('S01 on homeostat up\'s stack: a chaos.heartbeat_pause makes a run appear on the page and resolve', async () => {
    const home = mkdtempSync(join(tmpdir(), 'homeostat-dashboard-s01-'));
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_HOME: home, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const stack = await startStack({ settings, log: pino({ level: 'silent' }), record: false });
    try {
      await using browser = await launchBrowser();
      const page = await browser.page();
      await page.goto(`${stack.web!.url}/dashboard/`);
      await page.locator('#connection[data-state="live"]').waitFor();
      const operator = await BusClient.connect(stack.credentials('operator'), 'test-operator', pino({ level: 'silent' }));
      try {
        operator.publish('chaos.heartbeat_pause', 'chaos.heartbeat_pause', { target: 'worker-1', seconds: 30 });
        await operator.flush();
      } finally {
        await operator.close();
      }
      const run = page.locator('[data-run]', { hasText: 'heartbeat-restart' }).first();
      await run.waitFor();
      await page.locator('[data-run][data-status="resolved"]', { hasText: 'heartbeat-restart' }).first().waitFor();
      expect(await run.locator('[data-step]').count()).toBeGreaterThan(0);
      expect(await run.textContent()).toContain('process.restart');
      await page.locator('[data-tab="targets"]').click();
      await page.locator('[data-target="worker-1"]').waitFor();
      await browser.screenshot(page, 's01-targets');
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('streams a run live, shows hostile output as text, refuses a wrong token, approves from the page', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(GATED));
    h.answer((req) =>
      req.action === 'test.other'
        ? { status: 'ok', stdout: HOSTILE_STDOUT, stderr: 'warning: <b>not bold</b>', exitCode: 0, command: 'diagnose-svc --target svc-1', healthBefore: 40, healthAfter: 95 }
        : { status: 'ok' },
    );
    const { web, token, wiring } = await dashboard(ctx);
    await using browser = await launchBrowser();
    const page = await browser.page();
    await page.goto(`${web.url}/dashboard/`);
    await page.locator('#connection[data-state="live"]').waitFor();

    await h.emit('events.test.dashboard', 'svc-1');
    const card = page.locator('[data-run]').first();
    await card.locator('[data-testid="approval-box"]').waitFor();
    const runId = (await card.getAttribute('data-run'))!;
    expect(await card.getAttribute('data-status')).toBe('awaiting_approval');
    // the first step's command and its output streamed in before the approval
    await expect.poll(() => card.locator('pre.output-stdout').textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await card.locator('pre.output-stdout').textContent()).toContain('␛[31mRED␛[0m');
    expect(await card.locator('pre.output-stderr').textContent()).toBe('warning: <b>not bold</b>');
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img[src="x"], .output b').count()).toBe(0);
    expect(await card.locator('[data-testid="approval-box"]').textContent()).toMatch(/test\.fix.*risk high/);
    // the step's command, exit code and the target's health before → after, on the call and on its step
    expect(await card.locator('.action code.command').first().textContent()).toBe('$ diagnose-svc --target svc-1');
    expect(await card.locator('[data-testid="action-health"]').first().textContent()).toBe(' health 40 % → 95 %');
    const stepRow = card.locator('[data-step="diagnose"]');
    expect(await stepRow.locator('td.step-health').textContent()).toBe('40 % → 95 %');
    expect(await stepRow.locator('td').nth(4).textContent()).toBe('0');
    await browser.screenshot(page, 'run-awaiting-approval');

    // a page opened after the server's feed dropped the awaiting_approval message still shows the approval box:
    // it asks the engine for its active runs at load (engine.runs.active)
    for (let i = 0; i < 5100; i++) h.monitor.publish('events.test.noise', 'events.test.noise', { i }, { target: 'svc-2' });
    await h.monitor.flush();
    await expect.poll(() => wiring.options.feed.items().some((i) => i.subject === `runs.${runId}.awaiting_approval`), { timeout: 10_000 }).toBe(false);
    const later = await browser.page();
    await later.goto(`${web.url}/dashboard/`);
    const laterCard = later.locator(`[data-run="${runId}"]`);
    await laterCard.locator('[data-testid="approval-box"]').waitFor();
    expect(await laterCard.getAttribute('data-status')).toBe('awaiting_approval');
    expect(await laterCard.locator('[data-testid="approval-box"]').textContent()).toMatch(/step fix — test\.fix.*risk high/);
    await later.close();

    // a wrong token: 401 on the page, nothing decided
    await card.locator('[data-testid="approval-token"]').fill('not-the-dashboard-token');
    await card.locator('input[placeholder^="your name"]').fill('alice');
    await card.locator('[data-testid="approve"]').click();
    await expect.poll(() => card.locator('[data-testid="approval-answer"]').textContent()).toMatch(/^401: unauthorized/);
    expect(h.requests.filter((r) => r.action === 'test.fix')).toHaveLength(0);
    expect(await card.getAttribute('data-status')).toBe('awaiting_approval');

    // the right token: the engine runs the step, the run resolves on the page, the decision names who made it
    await card.locator('[data-testid="approval-token"]').fill(token);
    await card.locator('[data-testid="approve"]').click();
    await page.locator(`[data-run="${runId}"][data-status="resolved"]`).waitFor();
    expect(h.requests.filter((r) => r.action === 'test.fix')).toEqual([expect.objectContaining({ runId, params: { target: 'svc-1', mode: 'soft' } })]);
    await expect.poll(() => card.locator('.decision').textContent()).toBe('approved by dashboard:alice');
    await browser.screenshot(page, 'run-resolved');

    // an approval for a run no longer waiting is refused with the engine's reason
    const late = await page.evaluate(async ([id, t]) => {
      const res = await fetch(`/dashboard/api/approvals/${id}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify({ decision: 'approve' }) });
      return { status: res.status, body: (await res.json()) as { accepted: boolean; message: string } };
    }, [runId, token] as const);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ accepted: false, message: `run ${runId} is not waiting for approval: it is resolved` });
  });

  it('a run recorded before the page (and its feed) started shows its steps from the store: command, exit code, output, health before → after', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('dashrec');
    const store = await openStore({ databaseUrl: pg.url, schema: pg.schema, storeDir: '/nonexistent', log: ctx.log });
    ctx.defer(() => store.close());
    const recorderBus = await ctx.connect('recorder');
    const recorder = new Recorder({ bus: recorderBus, store, log: ctx.log });
    await recorder.start();
    ctx.defer(() => recorder.stop());
    new HistoryService(recorderBus, store, ctx.log).start();
    const h = await engineHarness(ctx, playbooks(`name: recorded-fix
on:
  event: events.test.recorded
steps:
  - id: flush
    action: test.fix
    with: { target: "{{ event.target }}" }
`));
    h.answer(() => ({ status: 'ok', stdout: 'OK\n', exitCode: 0, command: 'redis-cli -h 127.0.0.1 -p 6379 MEMORY PURGE', healthBefore: 12, healthAfter: 88 }));
    await h.emit('events.test.recorded', 'cache-1');
    const end = await h.runEnd();
    expect(end.phase).toBe('resolved');
    await expect.poll(async () => (await store.getRun(end.data.runId))?.actions[0]?.healthAfterPct ?? null).toBe(88);

    // the dashboard starts after the run: its feed never saw it
    const { web } = await dashboard(ctx);
    await using browser = await launchBrowser();
    const page = await browser.page();
    await page.goto(`${web.url}/dashboard/`);
    const card = page.locator(`[data-run="${end.data.runId}"]`);
    const row = card.locator('[data-step="flush"]');
    await row.waitFor();
    expect(await row.locator('td.step-health').textContent()).toBe('12 % → 88 %');
    expect(await row.locator('td').nth(4).textContent()).toBe('0');
    expect(await card.locator('.action code.command').textContent()).toBe('$ redis-cli -h 127.0.0.1 -p 6379 MEMORY PURGE');
    expect(await card.locator('[data-testid="action-health"]').textContent()).toBe(' health 12 % → 88 %');
    expect(await card.locator('pre.output-stdout').textContent()).toBe('OK\n');
    await browser.screenshot(page, 'run-recorded');
  });

  it('shows when it is disconnected and resumes with Last-Event-ID after the server comes back, without a reload', async () => {
    await using ctx = await setup();
    const monitor = await ctx.connect('monitor');
    const first = await dashboard(ctx);
    const port = first.web.port;
    await using browser = await launchBrowser();
    const page = await browser.page();
    await page.goto(`${first.web.url}/dashboard/#incidents`);
    await page.locator('#connection[data-state="live"]').waitFor();
    const before = monitor.publish('events.test.before', 'events.test.before', { n: 0 }, { target: 'svc-1' });
    await page.locator(`[data-event="${before.id}"]`).waitFor();
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));

    await first.web.close();
    await page.locator('#connection[data-state="disconnected"]').waitFor();
    await browser.screenshot(page, 'disconnected');
    // published while the page has no connection: the feed keeps them
    const missed = [1, 2, 3].map((n) => monitor.publish('events.test.missed', 'events.test.missed', { n }, { target: 'svc-1' }));
    await expect.poll(() => first.wiring.options.feed.items().filter((i) => missed.some((m) => m.id === i.envelope.id)).length).toBe(3);

    const second = await dashboard(ctx, { port, wiring: first.wiring });
    for (const m of missed) await page.locator(`[data-event="${m.id}"]`).waitFor();
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(second.web.stream!.stats).toMatchObject({ opened: 1, resumed: 1, reset: 0 });
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    // resumed after the last event it had: nothing twice
    expect(await page.locator(`[data-event="${before.id}"]`).count()).toBe(1);
    await browser.screenshot(page, 'resumed');
  });
});
