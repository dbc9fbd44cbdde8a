import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runIdsByPrefix, subjects } from '../bus/index.js';
import { engineHarness, playbooks, type EngineHarness } from '../test/engine-harness.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';

const run = promisify(execFile);

/** Runs the real CLI as the operator against the test server. */
async function cli(ctx: TestContext, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const creds = ctx.nats.credentials('operator');
  try {
    const r = await run(process.execPath, [join(ctx.settings.root, 'dist', 'cli', 'main.js'), ...args], {
      env: { ...process.env, NATS_URL: creds.url, HOMEOSTAT_NATS_USER: creds.user, HOMEOSTAT_NATS_PASSWORD: creds.password, HOMEOSTAT_LOG_FORMAT: 'json', LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const GATED = `name: gated
on:
  event: events.test.gated
steps:
  - id: prepare
    action: test.other
    undo: { action: test.undo, with: { target: "{{ event.target }}" } }
  - id: flush
    action: test.fix
    with: { target: "{{ event.target }}", keep: "{{ event.data.keep }}" }
    approval: required
    approval_timeout: 1m
`;

async function awaiting(h: EngineHarness) {
  const s = await h.until((x) => x.subject.endsWith('.awaiting_approval'));
  return { runId: s.subject.split('.')[1]!, data: s.env.data as { step: string; detail: { action: string; params: unknown; risk: string; timeoutMs: number } } };
}

describe('run ids by prefix', () => {
  const ids = ['0123456789abcdef0123456789abcdef', '0123456789abffff0123456789abcdef', 'fedcba9876543210fedcba9876543210'];
  it('takes a whole id, a unique prefix of 8 or more characters, and reports every match of an ambiguous one', () => {
    expect(runIdsByPrefix(ids[2]!, ids)).toEqual([ids[2]]);
    expect(runIdsByPrefix('fedcba98', ids)).toEqual([ids[2]]);
    expect(runIdsByPrefix('fedcba9', ids)).toEqual([]);
    expect(runIdsByPrefix('0123456789ab', ids)).toEqual([ids[0], ids[1]]);
    expect(runIdsByPrefix('0123456789abc', ids)).toEqual([ids[0]]);
    expect(runIdsByPrefix('99999999', ids)).toEqual([]);
  });
});

describe('approval of gated steps', () => {
  it('publishes the exact action and params, waits, and runs them once `homeostat approve` says so', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(GATED));
    await h.emit('events.test.gated', 'redis-1', { keep: 10 });
    const a = await awaiting(h);
    expect(a.data.step).toBe('flush');
    expect(a.data.detail).toMatchObject({ action: 'test.fix', params: { target: 'redis-1', keep: 10 }, timeoutMs: 60_000 });
    expect(h.requests.map((r) => r.action)).toEqual(['test.other']);
    expect(h.engine.activeRun('redis-1')!.awaitingApproval).toMatchObject({ step: 'flush', action: 'test.fix' });

    // a role other than operator cannot approve: the server refuses the publish
    const handler = await ctx.connect('handler', 'rogue-handler');
    const refused = nextMessage(h.operator, 'acl.violation', (e) => (e.data as { subject: string }).subject === subjects.approval(a.runId), 5000);
    await h.operator.flush();
    handler.nc.publish(subjects.approval(a.runId), JSON.stringify({ decision: 'approve' }));
    await refused;
    expect(h.engine.activeRun('redis-1')!.awaitingApproval).toBeDefined();

    const out = await cli(ctx, 'approve', a.runId);
    expect(out.stdout).toContain(`run ${a.runId}: step "flush" approved`);
    expect(out.code).toBe(0);
    const end = await h.runEnd(a.runId);
    expect(end.phase).toBe('resolved');
    expect(h.requests.map((r) => [r.action, r.params])).toEqual([
      ['test.other', {}],
      ['test.fix', { target: 'redis-1', keep: 10 }],
    ]);
  });

  it('`homeostat reject --reason` by the 12-character prefix (no store to resolve it: the engine does) stops the run with the reason, never calls the action, and rolls back', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(GATED));
    await h.emit('events.test.gated', 'redis-1', { keep: 1 });
    const a = await awaiting(h);
    const out = await cli(ctx, 'reject', a.runId.slice(0, 12), '--reason', 'not during business hours');
    expect(out.stdout).toContain(`run ${a.runId}: step "flush" rejected`);
    const end = await h.runEnd(a.runId);
    expect(end.phase).toBe('stopped');
    expect(end.data.reason).toMatch(/approval rejected by .+: not during business hours/);
    expect(h.requests.map((r) => r.action)).toEqual(['test.other', 'test.undo', 'notify.send']);
  });

  it('treats no decision within approval_timeout as a rejection', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(GATED.replace('approval_timeout: 1m', 'approval_timeout: 200ms')));
    await h.emit('events.test.gated', 'redis-1', { keep: 1 });
    const end = await h.runEnd();
    expect(end.phase).toBe('stopped');
    expect(end.data.reason).toMatch(/approval timed out: no decision within 200 ms/);
    expect(h.requests.some((r) => r.action === 'test.fix')).toBe(false);
  });

  it('risk: high requires approval unless approval: none is written; a bare JSON decision works', async () => {
    await using ctx = await setup();
    const h = await engineHarness(
      ctx,
      playbooks(`name: risky
on:
  event: events.test.risky
steps:
  - id: brave
    action: test.other
    risk: high
    approval: none
  - id: kill
    action: test.fix
    risk: high
`),
    );
    await h.emit('events.test.risky', 'svc');
    const a = await awaiting(h);
    expect(a.data.step).toBe('kill');
    expect(a.data.detail.risk).toBe('high');
    expect(h.requests.map((r) => r.action)).toEqual(['test.other']);
    h.operator.nc.publish(subjects.approval(a.runId), JSON.stringify({ decision: 'approve', by: 'bob' }));
    expect((await h.runEnd(a.runId)).phase).toBe('resolved');
    expect(h.requests.map((r) => r.action)).toEqual(['test.other', 'test.fix']);
  });

  it('`homeostat approve` of a run nobody waits on says so and exits non-zero', async () => {
    await using ctx = await setup();
    await engineHarness(ctx, playbooks(GATED));
    const out = await cli(ctx, 'approve', 'no-such-run', '--timeout', '300ms');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/no engine answered on approvals\.no-such-run/);
    const bad = await cli(ctx, 'approve', 'a.b');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/cannot be used in a subject/);
  });
});
