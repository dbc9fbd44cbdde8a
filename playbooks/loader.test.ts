import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigFileError, formatProblem, loadSettings } from '../config/index.js';
import { ACTION_CATALOGUE, ACTION_REGISTRY } from '../handlers/index.js';
import { TEST_ACTIONS } from '../test/engine-harness.js';
import { loadPlaybookDir, parsePlaybook, playbookJsonSchemaText, type LoadOptions } from './index.js';

const settings = loadSettings({ ...process.env, HOMEOSTAT_LOG_FORMAT: 'json' }, false);

function problems(text: string, actions: LoadOptions['actions'] = TEST_ACTIONS): string[] {
  try {
    parsePlaybook('pb.yaml', text, { actions });
  } catch (e) {
    if (e instanceof ConfigFileError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

describe('playbook loading and checking', () => {
  it('loads a playbook written with the skeleton fields only (backward compatible)', () => {
    const pb = parsePlaybook(
      'old.yaml',
      `name: resource-pressure-cpu
description: Throttle or kill a CPU hog.
priority: 20
on:
  event: events.resource.cpu_pressure
  targets: [worker-1, worker-2]
  when: event.data.cpuPct > 80.0
steps:
  - id: restart
    action: process.restart
    with: { target: "{{ event.target }}" }
    timeout: 5s
  - id: verify
    verify:
      probe: target.health
      with: { target: "{{ event.target }}" }
      expect: result.healthy == true
      within: 10s
      interval: 100ms
      backoff: 1.5
`,
      { actions: ACTION_CATALOGUE },
    );
    expect(pb.playbook.steps[0]).toMatchObject({ id: 'restart', action: 'process.restart', timeout: 5000 });
    expect(pb.playbook.rollback).toBe(true);
    expect(pb.playbook.on_failure).toEqual([]);
    expect(pb.expects.has('verify')).toBe(true);
  });

  it('loads every field of the language', () => {
    const pb = parsePlaybook(
      'full.yaml',
      `name: redis-oom
description: Redis refuses writes because used memory reached maxmemory.
priority: 5
on:
  event: events.redis.memory_pressure
  when: event.data.usedPct >= 95.0
  dedupe: { key: "{{ event.target }}", window: 60s }
  cooldown: 5m
budget: { runs: 3, per: 1h }
rollback: true
steps:
  - id: corrupted
    when: event.data.cause == "corruption"
    stop: data corruption on {{ event.target }}
  - id: flush
    description: drop the cache
    action: test.fix
    with: { target: "{{ event.target }}" }
    risk: high
    approval: required
    approval_timeout: 10m
    timeout: 10s
    retry: { attempts: 3, interval: 1s, backoff: 1.5 }
    undo: { action: test.undo, with: { target: "{{ event.target }}", before: "{{ steps.flush.result.keys }}" } }
    on_failure:
      - action: notify.send
        with: { message: "flush failed on {{ event.target }}" }
  - id: verify
    verify:
      probe: test.probe
      with: { target: "{{ event.target }}" }
      expect: result.usedPct < 50.0
      within: 15s
on_failure:
  - id: tell
    action: notify.send
    with: { message: "redis-oom on {{ event.target }} not fixed: {{ steps.verify.status }}" }
  - stop: manual intervention needed
`,
      { actions: TEST_ACTIONS },
    );
    expect(pb.playbook.on).toMatchObject({ dedupe: { window: 60_000 }, cooldown: 300_000 });
    expect(pb.playbook.budget).toEqual({ runs: 3, per: 3_600_000 });
    expect(pb.onFailure.map((s) => s.id)).toEqual(['tell', 'on_failure.2']);
    expect(pb.stepFailure.get('flush')!.map((s) => s.id)).toEqual(['flush.on_failure.1']);
    expect(pb.conditions.has('corrupted')).toBe(true);
  });

  it('every playbook in the library loads with the actions handlers provide', () => {
    expect(loadPlaybookDir(settings.playbooksDir, { actions: ACTION_CATALOGUE }).length).toBeGreaterThan(0);
  });

  it('playbooks/schema.json is the JSON Schema generated from the zod schema (regenerate: homeostat playbooks schema --write playbooks/schema.json)', () => {
    const committed = readFileSync(join(settings.root, 'playbooks', 'schema.json'), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(playbookJsonSchemaText(ACTION_REGISTRY)));
  });

  it('reports an expression that does not compile with the line and column inside the expression', () => {
    const p = problems(`name: x\non:\n  event: events.a.b\n  when: event.data.pct >= && 3\nsteps:\n  - id: a\n    action: test.fix\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^pb\.yaml:4:27: on\.when: expression does not compile: Unexpected token/);
    const quoted = problems(`name: x\non:\n  event: events.a.b\nsteps:\n  - id: a\n    verify:\n      probe: test.probe\n      expect: "result.ok == tru"\n`);
    expect(quoted[0]).toMatch(/^pb\.yaml:8:29: steps\.0\.verify\.expect: expression does not compile: Unknown variable: tru/);
  });

  it('refuses unknown variables, non-boolean conditions, unknown actions, bad templates and misplaced fields', () => {
    const p = problems(`name: x
on:
  event: events.a.b
  when: evnt.target == "a"
  dedupe: { key: "{{ steps.a.result }}", window: 1m }
steps:
  - id: a
    when: event.data.n + 1.0
    action: cache.flushall
    with: { t: "{{ event.target | upper }}", u: "{{ later.x }}" }
  - id: b
    action: test.fix
    with: { pid: "{{ steps.c.result.pid }}" }
  - id: c
    stop: enough
`);
    const text = p.join('\n');
    expect(text).toMatch(/pb\.yaml:4:9: on\.when: expression does not compile: Unknown variable: evnt/);
    expect(text).toMatch(/pb\.yaml:5:\d+: on\.dedupe\.key: "\{\{ steps\.a\.result \}\}": templates here may read event only/);
    expect(text).toMatch(/steps\.0\.when: expression does not compile: gives double, not a bool/);
    expect(text).toMatch(/pb\.yaml:9:13: steps\.0\.action: no handler provides "cache\.flushall"/);
    expect(text).toMatch(/steps\.0\.with\.t: "\{\{ event\.target \| upper \}\}" is not a field path/);
    expect(text).toMatch(/steps\.0\.with\.u: "\{\{ later\.x \}\}": templates here may read event or steps only/);
    expect(text).toMatch(/steps\.1\.with\.pid: "\{\{ steps\.c\.result\.pid \}\}": no earlier step "c"/);
  });

  it('reports every structural problem at once, with line and column', () => {
    const text = problems(`name: x
on:
  event: events.a.b
steps:
  - id: c
    stop: enough
    retry: { attempts: 2 }
  - id: d
    action: test.fix
    verify: { probe: test.probe, expect: "true" }
  - id: d
    action: test.fix
    frobnicate: 1
`).join('\n');
    expect(text).toMatch(/pb\.yaml:7:12: steps\.0\.retry: `retry` applies to an `action` step only/);
    expect(text).toMatch(/pb\.yaml:9:13: steps\.1\.action: a step has exactly one of `action`, `verify`, `stop` or `diagnose`/);
    expect(text).toMatch(/pb\.yaml:13:5: steps\.2\.frobnicate: unknown field/);
    expect(text).toMatch(/pb\.yaml:11:9: steps\.2\.id: duplicate step id "d"/);
  });

  it('refuses duplicate step ids, also in on_failure lists', () => {
    expect(problems(`name: x\non: { event: events.a }\nsteps:\n  - { id: a, action: test.fix }\n  - { id: a, action: test.fix }\n`).join('\n')).toMatch(/steps\.1\.id: duplicate step id "a"/);
    expect(problems(`name: x\non: { event: events.a }\nsteps:\n  - { id: a, action: test.fix }\non_failure:\n  - { id: a, action: test.fix }\n`).join('\n')).toMatch(/pb\.yaml:6:\d+: on_failure\.0\.id: duplicate step id "a"/);
  });

  it('`homeostat playbooks validate` prints file:line:col: message for every problem and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-validate-'));
    const bad = join(dir, 'bad-playbook.yaml');
    writeFileSync(bad, `name: Bad\non:\n  event: events..x\nsteps:\n  - id: a\n    action: nope.nope\n`);
    const r = await promisify(execFile)(process.execPath, [join(settings.root, 'dist', 'cli', 'main.js'), 'playbooks', 'validate', bad]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}:1:7: name: playbook names are lower-case`);
    expect(r.stdout).toContain(`${bad}:3:10: on.event: not a valid NATS subject pattern`);
    rmSync(dir, { recursive: true, force: true });
  });
});
