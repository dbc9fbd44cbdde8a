import { describe, expect, it } from 'vitest';
import { ActionServer, IdempotencyLedger, notifySend } from '../handlers/index.js';
import { DrillObserver, DrillWebhook } from '../bench/crash-drill.js';
import { flapDrill, writeFlapPlaybooks } from '../bench/flap-drill.js';
import { setup } from '../test/setup.js';

describe('flap budget across engine restarts (real engine processes, real nats-server)', () => {
  it('an engine SIGKILLed in the middle of a restart loop comes back with the budget still spent: the target gets no more restarts than the budget', async () => {
    await using ctx = await setup();
    const webhook = await DrillWebhook.start();
    ctx.defer(() => webhook.close());
    const handlerBus = await ctx.connect('handler');
    const server = new ActionServer(handlerBus, ctx.log).register(notifySend(ctx.log, webhook.url));
    await server.startDurable(await IdempotencyLedger.open(handlerBus, ctx.log));
    ctx.defer(() => server.stop());
    const operator = await ctx.connect('operator');
    const observer = new DrillObserver(operator);
    const monitor = await ctx.connect('monitor');
    await operator.flush();
    const budget = 3;
    const deps = { settings: ctx.settings, nats: ctx.nats, monitor, observer, webhook, playbooks: writeFlapPlaybooks(ctx.dir, budget), log: ctx.log };

    // killed while the 2nd restart is in flight (the new engine resumes that run), and between the 2nd and 3rd
    for (const [i, kill] of ([{ at: 2, when: 'in_flight' }, { at: 2, when: 'between' }] as const).entries()) {
      const o = await flapDrill(deps, i, budget, kill);
      process.stdout.write(`flap budget across an engine restart (kill ${kill.when} at ${kill.at}): ${o.granted} restarts granted / budget ${budget}, ${o.crashes} crashes\n`);
      expect(o, `kill ${kill.when} at ${kill.at}`).toMatchObject({ granted: budget, duplicated: 0, escalated: true, crashes: budget + 1 });
    }
  });
});
