import { describe, expect, it } from 'vitest';
import { openStore, Recorder } from '../store/index.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { capturedLogger, diagnosisConfig, LlmDiagnoser, providerAt, ScriptedProvider } from '../test/diagnosis.js';
import { throwawaySchema } from '../test/postgres.js';
import { eventually, setup } from '../test/setup.js';

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
llm: { auto: true, min_confidence: 0.7, signatures: ["events.app.*"] }
steps:
  - id: restart
    action: test.fix
    with: { target: "{{ event.target }}" }
`;

describe('a diagnosis is stored with its incident', () => {
  it('records provider, model, latency, tokens, cost, the answer and the decision; the key is in no log, store row or notification', async () => {
    await using ctx = await setup();
    await using pg = await throwawaySchema('diag');
    const store = await openStore({ databaseUrl: pg.url, schema: pg.schema, storeDir: '/nonexistent', log: ctx.log });
    ctx.defer(() => store.close());
    const recorder = new Recorder({ bus: await ctx.connect('recorder'), store, log: ctx.log });
    await recorder.start();
    ctx.defer(() => recorder.stop());

    const primary = await ScriptedProvider.start(() => ({ status: 503 }));
    const fallback = await ScriptedProvider.start(() => ({ content: JSON.stringify({ root_cause: 'the app deadlocked', confidence: 0.6, playbook: 'restart-app', justification: 'no progress in logs' }) }));
    ctx.defer(() => primary.close());
    ctx.defer(() => fallback.close());
    const { log, lines } = capturedLogger();
    const p1 = providerAt('primary', primary.baseUrl, { retries: 0 });
    const diagnoser = new LlmDiagnoser(diagnosisConfig([p1, providerAt('local', fallback.baseUrl)]), log);
    const h = await engineHarness(ctx, playbooks(TRIAGE, RESTART), { diagnoser, log });

    await h.emit('events.app.stalled', 'app-1', { logs: 'no progress since 10:00; db password=Sw0rdf1sh!', queued: 40 });
    // confidence 0.6 is below the rule's 0.7: the choice waits for approval; nobody answers, so reject it
    const wait = await h.until((s) => s.subject.endsWith('.awaiting_approval'), 10_000);
    h.operator.nc.publish(wait.subject.replace(/^runs\.([^.]+)\..*$/, 'approvals.$1'), JSON.stringify({ decision: 'reject', reason: 'not now', by: 'alice' }));
    await h.endFor('app-1', 2, 10_000);
    await h.engine.whenIdle();

    let rows: Awaited<ReturnType<typeof store.listDiagnoses>> = [];
    await eventually(async () => {
      await recorder.idle();
      rows = await store.listDiagnoses();
      expect(rows).toHaveLength(1);
    });
    const d = rows[0]!;
    expect(d.incidentId).not.toBeNull();
    expect(d).toMatchObject({ provider: 'local', model: 'local-model', step: 'diagnose', signature: 'events.app.stalled', target: 'app-1' });
    expect(d.tokens).toBeGreaterThan(0);
    expect(d.costUsd).toBeGreaterThan(0);
    expect(d.latencyMs).toBeGreaterThan(0);
    expect(d.answer).toMatchObject({ playbook: 'restart-app', confidence: 0.6 });
    expect(d.decision).toMatchObject({ kind: 'approval', playbook: 'restart-app', reason: expect.stringMatching(/below 0.7/) });
    expect(d.calls.map((c) => `${String(c.provider)}:${String(c.httpStatus ?? c.outcome)}`)).toEqual(['primary:503', 'local:accepted']);
    expect((await store.listDiagnoses({ incidentId: d.incidentId! }))).toHaveLength(1);
    // nothing ran: the choice was rejected
    expect(h.requests.filter((r) => r.action === 'test.fix')).toHaveLength(0);

    const key = 'KEY-0123456789abcdef';
    const runs = await store.listRuns({ limit: 10 });
    const details = await Promise.all(runs.map((r) => store.getRun(r.id)));
    const notifications = h.requests.filter((r) => r.action === 'notify.send');
    expect(notifications.length).toBeGreaterThan(0);
    for (const text of [lines.join(''), JSON.stringify(rows), JSON.stringify(details), JSON.stringify(notifications), JSON.stringify(h.seen)]) {
      expect(text).not.toContain(key);
    }
    expect(lines.join('')).toContain('diagnosis accepted');
    // what left the host: the password from the log was redacted
    for (const r of [...primary.requests, ...fallback.requests]) expect(r.body).not.toContain('Sw0rdf1sh');
  }, 60_000);
});
