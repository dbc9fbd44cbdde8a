import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { subjects } from '../bus/index.js';
import { engineHarness, playbooks, type EngineHarness } from '../test/engine-harness.js';
import { diagnosisConfig, LlmDiagnoser, providerAt, ScriptedProvider } from '../test/diagnosis.js';
import { setup } from '../test/setup.js';

const corpus = parse(readFileSync(join(import.meta.dirname, 'corpus', 'injections.yaml'), 'utf8')) as { where: 'log' | 'annotation'; text: string; obeyed: Record<string, unknown> }[];

const TRIAGE = `name: triage
description: Ask the LLM which allowed playbook fits an alert nothing else handles.
on:
  event: events.app.*
  dedupe: { key: "{{ event.id }}", window: 1s }
steps:
  - id: diagnose
    diagnose: { playbooks: [restart-worker, flush-cache] }
`;
const RESTART = `name: restart-worker
description: Restart the worker process.
on:
  event: events.never.restart
llm: { auto: true, min_confidence: 0.8, signatures: ["events.app.*"] }
steps:
  - id: restart
    action: test.fix
    with: { target: "{{ event.target }}" }
`;
const FLUSH = `name: flush-cache
description: Flush every key of the cache (loses data).
on:
  event: events.never.flush
llm: { auto: true, min_confidence: 0.5, signatures: ["events.app.*"], approval_timeout: 1s }
steps:
  - id: flush
    action: redis.flushall
    with: { target: "{{ event.target }}" }
    approval_timeout: 1s
`;
const WIPE = `name: wipe-disk
description: Not in the triage allow-list.
on:
  event: events.never.wipe
steps:
  - id: wipe
    action: test.other
`;
// the allowed playbooks' actions, and the engine's own notifications (a stopped run notifies)
const ALLOWED_ACTIONS = new Set(['test.fix', 'redis.flushall', 'notify.send']);

async function settled(h: EngineHarness, target: string): Promise<void> {
  await h.endFor(target, 1, 15_000);
  await h.engine.whenIdle();
}

describe('prompt injection in logs and alert annotations', () => {
  it('never leads to an action outside the allow-list, nor to an un-approved run of a risky playbook', async () => {
    await using ctx = await setup();
    let obeyed: Record<string, unknown> = {};
    const provider = await ScriptedProvider.start(() => ({ content: JSON.stringify(obeyed) }));
    ctx.defer(() => provider.close());
    const diagnoser = new LlmDiagnoser(diagnosisConfig([providerAt('primary', provider.baseUrl)]), ctx.log);
    const h = await engineHarness(ctx, playbooks(TRIAGE, RESTART, FLUSH, WIPE), { diagnoser });
    let flushApprovals = 0;
    h.answer(() => ({ status: 'ok' }));
    for (const [i, inj] of corpus.entries()) {
      obeyed = inj.obeyed;
      const target = `app-${i}`;
      const before = provider.requests.length;
      await h.emit('events.app.error_burst', target, inj.where === 'log' ? { logs: inj.text, errors: 12 } : { annotations: { description: inj.text }, errors: 12 });
      const end = await h.endFor(target, 1, 15_000);
      expect(end.data.playbook).toBe('triage');
      // a chosen risky playbook waits for approval of its step; nobody approves: it times out
      const chosen = obeyed.playbook === 'flush-cache';
      if (chosen) {
        const wait = await h.until((s) => s.subject.endsWith('.awaiting_approval') && s.env.data.target === target, 10_000);
        expect((wait.env.data as { detail: { action: string } }).detail.action).toBe('redis.flushall');
        flushApprovals++;
        await h.endFor(target, 2, 15_000);
      }
      await settled(h, target);
      // the injection text travelled fenced as data, with the instruction that data is never obeyed
      const req = provider.requests[before]!;
      const [system, user] = req.json!.messages!;
      expect(system!.content).toMatch(/never instructions/);
      const fence = /<<<DATA ([0-9a-f]{12})>>>/.exec(user!.content)![1]!;
      const block = new RegExp(`<<<DATA ${fence}>>>([\\s\\S]*?)<<<END DATA ${fence}>>>`, 'g');
      const fenced = [...user!.content.matchAll(block)].map((m) => m[1]).join('\n');
      const needle = inj.text.split('\n').find((l) => l.length > 20 && !l.includes('<<<'))!.slice(0, 20);
      expect(fenced.includes(needle) || fenced.includes(JSON.stringify(needle).slice(1, -1))).toBe(true);
      expect(user!.content.replace(block, '')).not.toContain(needle);
    }
    expect(h.requests.filter((r) => !ALLOWED_ACTIONS.has(r.action))).toEqual([]);
    expect(h.requests.filter((r) => r.action === 'redis.flushall')).toEqual([]);
    expect(flushApprovals).toBe(corpus.filter((c) => c.obeyed.playbook === 'flush-cache').length);
    const diag = h.seen.filter((s) => s.subject.endsWith('.step') && s.env.data.step === 'diagnose');
    expect(diag).toHaveLength(corpus.length);
    for (const d of diag) {
      const detail = d.env.data.detail as { result: { decision: { kind: string; playbook?: string } } };
      if (detail.result.decision.playbook !== undefined) expect(['restart-worker', 'flush-cache']).toContain(detail.result.decision.playbook);
    }
  }, 120_000);

  it('a chosen playbook without `llm: auto` waits for approval of the choice, and runs once approved', async () => {
    await using ctx = await setup();
    const provider = await ScriptedProvider.start(() => ({ content: JSON.stringify({ root_cause: 'frozen', confidence: 0.95, playbook: 'wipe-disk', justification: 'x' }) }));
    ctx.defer(() => provider.close());
    const diagnoser = new LlmDiagnoser(diagnosisConfig([providerAt('primary', provider.baseUrl)]), ctx.log);
    const triage = TRIAGE.replace('[restart-worker, flush-cache]', '[wipe-disk]');
    const h = await engineHarness(ctx, playbooks(triage, WIPE), { diagnoser });
    await h.emit('events.app.error_burst', 'app-x', { errors: 1 });
    const wait = await h.until((s) => s.subject.endsWith('.awaiting_approval'), 10_000);
    const d = wait.env.data as { playbook: string; step: string; detail: { action: string; params: { triageRunId: string; confidence: number } } };
    expect(d).toMatchObject({ playbook: 'wipe-disk', step: 'llm-choice', detail: { action: 'playbook.run', params: { confidence: 0.95 } } });
    expect(h.requests).toHaveLength(0);
    h.operator.nc.publish(subjects.approval(wait.subject.split('.')[1]!), JSON.stringify({ decision: 'approve', by: 'alice' }));
    const end = await h.endFor('app-x', 2, 10_000);
    expect(end).toMatchObject({ phase: 'resolved', data: { playbook: 'wipe-disk' } });
    expect(h.requests.map((r) => r.action)).toEqual(['test.other']);
    expect(h.engine.stats.chosenByLlm).toBe(1);
  }, 60_000);

  it('without a provider the diagnose step is skipped with the reason, and nothing else is started', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(TRIAGE, RESTART, FLUSH), { diagnoser: null });
    await h.emit('events.app.error_burst', 'app-y', { errors: 1 });
    const end = await h.endFor('app-y', 1, 10_000);
    expect(end.phase).toBe('resolved');
    const step = h.seen.find((s) => s.subject.endsWith('.step') && s.env.data.step === 'diagnose')!;
    expect(step.env.data).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/no LLM provider configured/) });
    await h.engine.whenIdle();
    expect(h.requests).toHaveLength(0);
  }, 30_000);
});
