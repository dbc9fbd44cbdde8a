import { describe, expect, it } from 'vitest';
import { makeEnvelope } from '../bus/index.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';
import { openTriggerState, PlaybookEngine } from './index.js';
import { TriggerGate } from './trigger-gate.js';

const PBS = [
  `name: flappy\non:\n  event: events.test.flap\nbudget: { runs: 3, per: 1h }\nsteps:\n  - id: a\n    action: test.fix\n`,
  `name: dd\non:\n  event: events.test.dd\n  dedupe: { key: "{{ event.data.fingerprint }}", window: 1h }\nsteps:\n  - id: a\n    action: test.fix\n`,
  `name: cool\non:\n  event: events.test.cool\n  cooldown: 1h\nsteps:\n  - id: a\n    action: test.fix\n`,
];

describe('trigger state in the HOMEOSTAT_TRIGGERS KV bucket', () => {
  it('an engine started after another stopped keeps its flap budgets, dedupe windows and cooldowns', async () => {
    await using ctx = await setup();
    const stateBus = await ctx.connect('engine', 'engine-state-1');
    const h = await engineHarness(ctx, playbooks(...PBS), { triggerState: await openTriggerState(stateBus) });
    for (let i = 1; i <= 2; i++) {
      await h.emit('events.test.flap', 'svc-1');
      await h.endFor('svc-1', i);
    }
    await h.emit('events.test.dd', 'x', { fingerprint: 'F1' });
    await h.endFor('x');
    await h.emit('events.test.cool', 'c1');
    await h.endFor('c1');
    await h.engine.whenIdle();
    await h.engine.bus.close();

    // a second engine, its own connections: what it knows comes from the bucket
    const bus = await ctx.connect('engine', 'engine-2');
    const engine = new PlaybookEngine({ bus, playbooks: playbooks(...PBS), log: ctx.log, triggerState: await openTriggerState(await ctx.connect('engine', 'engine-state-2')) });
    engine.start();
    await bus.flush();
    await h.emit('events.test.flap', 'svc-1');
    await h.endFor('svc-1', 3);
    await h.emit('events.test.flap', 'svc-1');
    const exhausted = await h.until((s) => s.subject === 'events.playbook.budget_exhausted');
    expect(exhausted.env.data).toMatchObject({ playbook: 'flappy', target: 'svc-1', runs: 3 });
    await h.emit('events.test.dd', 'y', { fingerprint: 'F1' });
    await h.emit('events.test.cool', 'c1');
    // a fresh key and a fresh target still run: what was refused was refused by the kept state
    await h.emit('events.test.dd', 'z', { fingerprint: 'F2' });
    await h.endFor('z');
    await h.emit('events.test.cool', 'c2');
    await h.endFor('c2');
    await expect.poll(() => engine.stats).toMatchObject({ started: 3, budgetRefused: 1, deduplicated: 1, cooldown: 1 });
    expect(engine.runs.map((r) => r.target)).toEqual(['svc-1', 'z', 'c2']);
    await engine.whenIdle();
  });

  it('two engines on one bucket take from one flap budget: of 20 concurrent asks, exactly `runs` start', async () => {
    await using ctx = await setup();
    const [pb] = playbooks(`name: shared\non:\n  event: events.test.flap\nbudget: { runs: 5, per: 1h }\nsteps:\n  - id: a\n    action: test.fix\n`);
    const gates = [new TriggerGate([pb!], await openTriggerState(await ctx.connect('engine', 'e1'))), new TriggerGate([pb!], await openTriggerState(await ctx.connect('engine', 'e2')))];
    const env = makeEnvelope('test.flap', 'monitor', {}, { subject: 'events.test.flap', target: 't' });
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => gates[i % 2]!.admit(pb!, env, 't', now + i)));
    expect(answers.filter((a) => a.kind === 'start')).toHaveLength(5);
    const refused = answers.filter((a) => a.kind === 'budget_refused');
    expect(refused).toHaveLength(15);
    // the first refusal is announced once, whichever engine met it
    expect(refused.filter((a) => a.kind === 'budget_refused' && a.first)).toHaveLength(1);
    // an operator's reset on approvals.budget.reset reaches every engine (no queue group): each lifts its own known refusal
    const resets = [await gates[1]!.resetBudget('shared', 't'), await gates[0]!.resetBudget('shared', 't')];
    expect(resets).toEqual([true, false]);
    expect((await gates[0]!.admit(pb!, env, 't', now + 100)).kind).toBe('start');
  });
});
