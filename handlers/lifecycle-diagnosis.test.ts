import { describe, expect, it } from 'vitest';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { diagnosisConfig, LlmDiagnoser, providerAt, ScriptedProvider } from '../test/diagnosis.js';
import { fakeSlack } from '../test/fake-slack.js';
import { setup } from '../test/setup.js';
import { LifecycleNotifier } from './lifecycle-notifier.js';
import { NotifyConfig } from './notify-config.js';
import { NotifyRouter } from './notify-router.js';

const TRIAGE = `name: triage
on:
  event: events.app.*
steps:
  - id: diagnose
    diagnose: { playbooks: [restart-app] }
`;
const RESTART = `name: restart-app
description: Restart the application.
on:
  event: events.never.restart
steps:
  - id: restart
    action: test.fix
`;

describe('lifecycle notification of an LLM diagnosis', () => {
  it('a diagnose step sends "diagnosing" with the choice, never "executing", and no key', async () => {
    await using ctx = await setup();
    const slack = await fakeSlack(['ok']);
    ctx.defer(() => slack.close());
    const parsed = NotifyConfig.parse({ sinks: [{ kind: 'slack', name: 'ops', url: slack.url }] });
    const router = new NotifyRouter(parsed, ctx.log);
    ctx.defer(() => router.close());
    const notifier = new LifecycleNotifier(await ctx.connect('handler', 'notifier'), router, parsed.lifecycle, ctx.log);
    notifier.start();
    const provider = await ScriptedProvider.start(() => ({ content: JSON.stringify({ root_cause: 'stuck', confidence: 0.7, playbook: 'restart-app', justification: 'j' }) }));
    ctx.defer(() => provider.close());
    const diagnoser = new LlmDiagnoser(diagnosisConfig([providerAt('primary', provider.baseUrl)]), ctx.log);
    const h = await engineHarness(ctx, playbooks(TRIAGE, RESTART), { diagnoser });
    await h.emit('events.app.stalled', 'app-1', { queued: 3 });
    await h.endFor('app-1', 1, 10_000);
    for (let t = Date.now() + 5000; slack.received.length < 3 && Date.now() < t; ) await new Promise((r) => setTimeout(r, 20));
    await router.idle();
    const texts = slack.received.map((r) => (r.body as { text: string }).text);
    expect(texts.slice(0, 3)).toEqual([
      'INFO: events.app.stalled on app-1: triage takes it',
      'INFO: diagnosing app-1: LLM (primary) chose restart-app at confidence 0.7',
      expect.stringMatching(/^INFO: app-1 healed by triage/),
    ]);
    expect(notifier.stats.executing).toBe(0);
    expect(JSON.stringify(slack.received)).not.toContain('KEY-0123456789abcdef');
  }, 30_000);
});
