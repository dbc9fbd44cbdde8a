import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ControlReplyData, queryActiveRuns, RUN_PHASE_PAYLOADS, RunPhaseData, subjects, type RunPhaseName } from '../bus/index.js';
import { engineHarness, playbooks } from '../test/engine-harness.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';

const run = promisify(execFile);

/** The real CLI as the operator against the test server. */
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
  - id: flush
    action: test.fix
    with: { target: "{{ event.target }}", keep: "{{ event.data.keep }}" }
    risk: high
    approval_timeout: 1m
`;

const SLOW = `name: slow
on:
  event: events.test.slow
steps:
  - id: work
    action: test.other
    timeout: 30s
`;

describe('active runs and waiting approvals over the bus (engine.runs.active)', () => {
  it('answers the operator, the dashboard role and the CLI with the runs a real engine holds, the waiting step first', async () => {
    await using ctx = await setup();
    const h = await engineHarness(ctx, playbooks(GATED, SLOW));
    // the slow run's action is held until the test releases it
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h.answer(async (req) => {
      if (req.target === 'worker-9' || (req.params as { target?: string }).target === 'worker-9') await held;
      return { status: 'ok' };
    });
    await h.emit('events.test.slow', 'worker-9');
    await h.until((s) => s.subject.endsWith('.started') && s.env.data.target === 'worker-9');
    await h.emit('events.test.gated', 'redis-1', { keep: 10 });
    const waiting = await h.until((s) => s.subject.endsWith('.awaiting_approval'));
    const runId = waiting.subject.split('.')[1]!;

    const all = await queryActiveRuns(h.operator);
    expect(all.engines).toBe(1);
    expect(all.runs.map((r) => [r.target, r.status])).toEqual([['redis-1', 'awaiting_approval'], ['worker-9', 'running']]);
    expect(all.runs[0]).toMatchObject({ runId, playbook: 'gated', steps: 1, awaiting: { step: 'flush', action: 'test.fix', params: { target: 'redis-1', keep: 10 }, risk: 'high', timeoutMs: 60_000 } });
    // the same approval the phase announced, field for field
    expect(all.runs[0]!.awaiting).toEqual({ step: 'flush', ...(waiting.env.data.detail as object) });
    expect((await queryActiveRuns(h.operator, { waitingOnly: true })).runs.map((r) => r.runId)).toEqual([runId]);

    // the dashboard's read-only role may ask too
    const dash = await ctx.connect('dashboard');
    expect((await queryActiveRuns(dash)).runs).toHaveLength(2);
    // a role the policy does not let ask is refused by the server, and the violation is reported
    const monitor = await ctx.connect('monitor', 'nosy-monitor');
    const refused = nextMessage(h.operator, 'acl.violation', (e) => (e.data as { subject: string }).subject === subjects.activeRuns, 5000);
    await h.operator.flush();
    await expect(queryActiveRuns(monitor, {}, 500)).rejects.toThrow(/Permissions Violation for Publish to "engine.runs.active"/);
    await refused;

    const approvals = await cli(ctx, 'approvals');
    expect(approvals.code).toBe(0);
    expect(approvals.stdout).toContain(runId.slice(0, 12));
    expect(approvals.stdout).toMatch(/flush: test\.fix \{"target":"redis-1","keep":10\}\s+high/);
    expect(approvals.stdout).not.toContain('worker-9');
    const active = await cli(ctx, 'runs', '--active', '--json');
    expect(active.code).toBe(0);
    expect((JSON.parse(active.stdout) as { target: string }[]).map((r) => r.target)).toEqual(['redis-1', 'worker-9']);

    const ok = await h.operator.request(subjects.approval(runId), 'approval', { decision: 'approve', by: 'test' }, ControlReplyData, 5000);
    expect(ok.data.accepted).toBe(true);
    expect((await h.runEnd(runId)).phase).toBe('resolved');
    release();
    await h.endFor('worker-9');
    expect((await queryActiveRuns(h.operator)).runs).toEqual([]);
    const none = await cli(ctx, 'approvals');
    expect(none.stdout).toBe('no run waits for approval\n');

    // every phase the engine published satisfies that phase's contract exactly (no field outside it)
    const phases = h.seen.filter((s) => s.subject.startsWith('runs.'));
    expect(new Set(phases.map((s) => s.subject.split('.')[2]))).toEqual(new Set(['started', 'step', 'awaiting_approval', 'resolved']));
    for (const s of phases) {
      const phase = s.subject.split('.')[2] as RunPhaseName;
      const strict = RUN_PHASE_PAYLOADS[phase].strict().safeParse(s.env.data);
      expect(strict.success, `${s.subject}: ${strict.error?.message ?? ''}`).toBe(true);
      expect(RunPhaseData.parse(s.env.data)).toEqual(s.env.data);
    }
  });

  it('answers with no engine when none runs, and the CLI says so', async () => {
    await using ctx = await setup();
    const op = await ctx.connect('operator');
    expect(await queryActiveRuns(op, {}, 500)).toEqual({ engines: 0, runs: [] });
    const out = await cli(ctx, 'runs', '--active');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('no engine answered on engine.runs.active');
  });
});
