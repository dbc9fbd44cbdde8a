import { describe, expect, it } from 'vitest';
import { ActionServer, IdempotencyLedger, notifySend } from '../handlers/index.js';
import { DrillObserver, DrillWebhook, emitDrillEvent, spawnComponent, writeDrillPlaybooks } from '../bench/crash-drill.js';
import { setup } from '../test/setup.js';

/** `run started` lines an engine process logged (JSON logs at info). */
const runsStarted = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"msg":"run started"')).length;

describe('several engines on one durable consumer (real engine processes, real nats-server)', () => {
  it('two engine processes share the `engine` durable consumer: every event is handled once, and both take work', async () => {
    await using ctx = await setup();
    const webhook = await DrillWebhook.start();
    ctx.defer(() => webhook.close());
    webhook.delayMs = 50;
    const handlerBus = await ctx.connect('handler');
    const server = new ActionServer(handlerBus, ctx.log).register(notifySend(ctx.log, webhook.url));
    await server.startDurable(await IdempotencyLedger.open(handlerBus, ctx.log));
    ctx.defer(() => server.stop());
    const operator = await ctx.connect('operator');
    const observer = new DrillObserver(operator);
    const monitor = await ctx.connect('monitor');
    await operator.flush();
    const args = ['--playbooks', writeDrillPlaybooks(ctx.dir), '--ack-wait', '2000'];
    const creds = ctx.nats.credentials('engine');
    const engines = await Promise.all([0, 1].map(() => spawnComponent(ctx.settings, 'engine', creds, args, { LOG_LEVEL: 'info' }).ready(observer)));
    ctx.defer(() => Promise.all(engines.map((e) => e.kill('SIGTERM'))));

    const N = 12;
    const events: Awaited<ReturnType<typeof emitDrillEvent>>[] = [];
    for (let n = 1; n <= N; n++) events.push(await emitDrillEvent(monitor, n));
    await observer.until(() => events.every((e) => observer.ends(e.id).length > 0), 30_000, `the runs of ${N} drill events to end`);

    for (const [i, e] of events.entries()) {
      expect(observer.started(e.id), `event ${i + 1}: one run`).toHaveLength(1);
      expect(observer.ends(e.id), `event ${i + 1}: ended once`).toHaveLength(1);
      expect([webhook.count(`first ${i + 1}`), webhook.count(`second ${i + 1}`)]).toEqual([1, 1]);
    }
    const perEngine = engines.map((e) => runsStarted(e.stderr));
    process.stdout.write(`${N} events on 2 engines sharing the durable consumer: runs per engine ${perEngine.join(' + ')}\n`);
    expect(perEngine.reduce((a, b) => a + b, 0)).toBe(N);
    expect(Math.min(...perEngine)).toBeGreaterThan(0);
  });
});
