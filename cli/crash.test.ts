import { describe, expect, it } from 'vitest';
import { ActionResultData, EnvelopeSchema, type BusClient } from '../bus/index.js';
import { ActionServer, IdempotencyLedger, notifySend } from '../handlers/index.js';
import { loadPlaybookDir, PlaybookEngine, RunJournal, type LoadedPlaybook } from '../playbooks/index.js';
import { ACTION_CATALOGUE } from '../handlers/index.js';
import {
  DrillObserver,
  DrillWebhook,
  emitDrillEvent,
  KILL_POINTS,
  sigkillDrill,
  spawnComponent,
  writeDrillPlaybooks,
} from '../bench/crash-drill.js';
import { setup, type TestContext } from '../test/setup.js';

/** Every action request and result, as the operator sees them. */
function watchActions(operator: BusClient) {
  const requests: { key?: string; actionId: string; message?: string }[] = [];
  const results: ActionResultData[] = [];
  operator.nc.subscribe('actions.>', {
    callback: (_e, m) => {
      const env = EnvelopeSchema.parse(JSON.parse(m.string()));
      const d = env.data as { actionId: string; idempotencyKey?: string; params?: { message?: string } };
      requests.push({ key: d.idempotencyKey, actionId: d.actionId, message: d.params?.message });
    },
  });
  operator.nc.subscribe('results.>', { callback: (_e, m) => void results.push(ActionResultData.parse(EnvelopeSchema.parse(JSON.parse(m.string())).data)) });
  return { requests, results };
}

async function drillBase(ctx: TestContext) {
  const webhook = await DrillWebhook.start();
  ctx.defer(() => webhook.close());
  const operator = await ctx.connect('operator');
  const observer = new DrillObserver(operator);
  const monitor = await ctx.connect('monitor');
  return { webhook, operator, observer, monitor };
}

/** An in-process remediator on the durable bus: notify.send to the drill webhook, with the idempotency ledger. */
async function inProcessHandler(ctx: TestContext, webhookUrl: string): Promise<void> {
  const bus = await ctx.connect('handler');
  const server = new ActionServer(bus, ctx.log).register(notifySend(ctx.log, webhookUrl));
  await server.startDurable(await IdempotencyLedger.open(bus, ctx.log));
  ctx.defer(() => server.stop());
}

/** An in-process engine on the durable bus with the journal. */
async function inProcessEngine(ctx: TestContext, playbooks: LoadedPlaybook[]): Promise<PlaybookEngine> {
  const bus = await ctx.connect('engine');
  const engine = new PlaybookEngine({ bus, playbooks, log: ctx.log, journal: await RunJournal.open(bus, ctx.log) });
  await engine.startDurable({ ackWaitMs: 2000 });
  ctx.defer(() => engine.stop());
  return engine;
}

describe('crash safety (real processes, real nats-server)', () => {
  it('engine SIGKILLed mid-run: a restarted engine resumes the run, every action runs exactly once, the run completes once', async () => {
    await using ctx = await setup();
    const { webhook, operator, observer, monitor } = await drillBase(ctx);
    const seen = watchActions(operator);
    await inProcessHandler(ctx, webhook.url);
    await operator.flush();
    const deps = { settings: ctx.settings, nats: ctx.nats, monitor, observer, webhook, playbooks: writeDrillPlaybooks(ctx.dir), log: ctx.log };
    for (const [i, killPoint] of KILL_POINTS.entries()) {
      const o = await sigkillDrill(deps, i + 1, killPoint);
      expect(o, `kill point ${killPoint}`).toMatchObject({ duplicated: 0, unfinished: false, ends: 1, starts: 1, phase: 'resolved' });
      expect(webhook.count(`first ${i + 1}`)).toBe(1);
      expect(webhook.count(`second ${i + 1}`)).toBe(1);
    }
    // killed while `first 1` was in flight: the new engine re-sent the same idempotency key and got the recorded result
    const firstSends = seen.requests.filter((r) => r.message === 'first 1');
    expect(firstSends.length).toBeGreaterThanOrEqual(2);
    expect(new Set(firstSends.map((r) => r.key)).size).toBe(1);
    expect(firstSends[0]!.key).toMatch(/\.main\.first\.1$/);
    const resent = seen.results.find((r) => r.actionId === firstSends.at(-1)!.actionId);
    expect(resent).toMatchObject({ status: 'ok', replayed: true });
  });

  it('handler killed mid-action: the action times out, is retried up to its limit, then the step fails; nothing runs late', async () => {
    await using ctx = await setup();
    const { webhook, operator, observer, monitor } = await drillBase(ctx);
    const seen = watchActions(operator);
    webhook.hang = true;
    const pbDir = writeDrillPlaybooks(ctx.dir, { timeout: '1s', attempts: 3 });
    await inProcessEngine(ctx, loadPlaybookDir(pbDir, { actions: ACTION_CATALOGUE }));
    const env = { HOMEOSTAT_WEBHOOK_URL: webhook.url };
    const handler = await spawnComponent(ctx.settings, 'handler', ctx.nats.credentials('handler'), [], env).ready(observer);
    ctx.defer(() => handler.kill('SIGKILL'));
    const ev = await emitDrillEvent(monitor, 1);
    await webhook.posted('first 1');
    await handler.kill('SIGKILL');
    await observer.until(() => observer.ends(ev.id).length > 0, 15_000, 'the run to end');
    const [end] = observer.ends(ev.id);
    expect(end).toMatchObject({ phase: 'failed' });
    expect(end!.data.reason).toBe('step "first" failed: no result from notify.send within 1000 ms');
    const step = observer.phases.find((p) => p.runId === end!.runId && p.phase === 'step' && p.data.step === 'first');
    expect(step?.data).toMatchObject({ status: 'failed', detail: { attempts: 3 } });
    const keys = seen.requests.filter((r) => r.message === 'first 1').map((r) => r.key);
    expect(keys.map((k) => k?.split('.').at(-1))).toEqual(['1', '2', '3']);
    expect(webhook.count('first 1')).toBe(1);
    expect(webhook.count('second 1')).toBe(0);
    // a new handler finds the retries still queued in the stream: they expired, so it answers without acting
    const late = await spawnComponent(ctx.settings, 'handler', ctx.nats.credentials('handler'), [], env).ready(observer);
    ctx.defer(() => late.kill('SIGTERM'));
    const retryIds = seen.requests.filter((r) => r.message === 'first 1').slice(1).map((r) => r.actionId);
    await expect.poll(() => seen.results.filter((r) => retryIds.includes(r.actionId)).map((r) => r.error?.code), { timeout: 10_000 }).toEqual(['HANDLER_EXPIRED', 'HANDLER_EXPIRED']);
    expect(webhook.count('first 1')).toBe(1);
  });

  it('nats-server restarted: every component reconnects and no event is lost', async () => {
    await using ctx = await setup();
    const { webhook, observer, monitor } = await drillBase(ctx);
    webhook.delayMs = 0;
    await inProcessHandler(ctx, webhook.url);
    const engine = spawnComponent(ctx.settings, 'engine', ctx.nats.credentials('engine'), ['--playbooks', writeDrillPlaybooks(ctx.dir), '--ack-wait', '2000']);
    ctx.defer(() => engine.kill('SIGKILL'));
    await engine.ready(observer);
    const before = await emitDrillEvent(monitor, 1);
    await observer.until(() => observer.ends(before.id).length > 0, 10_000, 'the first run to end');
    // a monitor publishes as the stack's monitors do: events kept in its outbox until the stream stores them
    const outbox = monitor.useDurableEvents();
    const emit = (n: number) => monitor.publish('events.drill.fault', 'drill.fault', { n }, { target: `drill-${n}` }).id;
    const during: string[] = [];
    await ctx.nats.restart(() => void during.push(emit(2), emit(3)));
    const ids = [before.id, ...during, emit(4)];
    await observer.until(() => ids.every((id) => observer.ends(id).length > 0), 30_000, 'every run to end');
    expect(ids.map((id) => observer.ends(id).map((e) => e.phase))).toEqual([['resolved'], ['resolved'], ['resolved'], ['resolved']]);
    for (const n of [1, 2, 3, 4]) expect([webhook.count(`first ${n}`), webhook.count(`second ${n}`)]).toEqual([1, 1]);
    expect(outbox.stats).toMatchObject({ stored: 3, dropped: 0 });
    expect(outbox.stats.retried).toBeGreaterThan(0);
    // the engine process reconnected: it beats again on the new server
    const now = Date.now();
    await observer.until(() => (observer.beats.get(`engine:${engine.pid}`) ?? 0) > now, 5000, 'the engine to beat again');
  });
});
