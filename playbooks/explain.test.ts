import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../config/index.js';
import { makeEnvelope } from '../bus/index.js';
import { TEST_ACTIONS } from '../test/engine-harness.js';
import { explainPlaybook, formatExplanation, parsePlaybook } from './index.js';

const settings = loadSettings({ ...process.env, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
const dir = mkdtempSync(join(tmpdir(), 'homeostat-explain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PB = `name: disk-full
on:
  event: events.disk.*
  targets: [web-1, web-2]
  when: event.data.pct >= 90.0
  dedupe: { key: "{{ event.target }}", window: 1m }
  cooldown: 5m
budget: { runs: 3, per: 1h }
steps:
  - id: corrupt
    when: event.data.cause == "corruption"
    stop: corruption on {{ event.target }}
  - id: clean
    action: test.fix
    with: { target: "{{ event.target }}", path: "{{ event.data.path }}" }
    retry: { attempts: 2, interval: 1s }
    undo: { action: test.undo, with: { freed: "{{ steps.clean.result.freed }}" } }
  - id: restart
    when: steps.clean.result.freed > 0.0
    action: test.other
    with: { target: "{{ event.target }}", reason: "{{ event.data.reason }}" }
    risk: high
  - id: check
    verify: { probe: test.probe, with: { target: "{{ event.target }}" }, expect: result.pct < 80.0, within: 30s }
on_failure:
  - stop: manual intervention needed
`;

describe('dry run (explain)', () => {
  const pb = parsePlaybook('disk.yaml', PB, { actions: TEST_ACTIONS });

  it('says it would fire, renders each step, names fields the event lacks and what is only known at run time', () => {
    const ev = makeEnvelope('events.disk.full', 'test', { pct: 95, path: '/var/log' }, { subject: 'events.disk.full', target: 'web-1' });
    const x = explainPlaybook(pb, ev);
    expect(x.fires).toBe(true);
    expect(x.trigger.map((t) => `${t.check}:${t.ok}`)).toEqual(['subject:true', 'targets:true', 'when:true', 'dedupe:true', 'cooldown:true', 'budget:true', 'one run per target:true']);
    const [corrupt, clean, restart, check] = x.steps;
    expect(corrupt).toMatchObject({ kind: 'stop', stop: 'corruption on web-1', when: { value: false } });
    expect(clean).toMatchObject({ kind: 'action', action: 'test.fix', params: { target: 'web-1', path: '/var/log' }, errors: [], retry: { attempts: 2 } });
    expect(clean!.undo).toEqual({ action: 'test.undo', params: { freed: '<steps.clean.result.freed at run time>' } });
    expect(restart).toMatchObject({ approval: true, when: { value: 'unknown' } });
    expect(restart!.errors[0]).toMatch(/event\.data\.reason/);
    expect(check).toMatchObject({ kind: 'verify', action: 'test.probe', params: { target: 'web-1' }, verify: { withinMs: 30_000 } });
    expect(x.onFailure[0]).toMatchObject({ kind: 'stop', stop: 'manual intervention needed' });
    const text = formatExplanation(x);
    expect(text).toContain('WOULD FIRE');
    expect(text).toContain('WOULD FAIL: template "{{ event.data.reason }}" references "event.data.reason"');
    expect(text).toContain('waits for operator approval');
  });

  it('says why it would not fire', () => {
    const low = explainPlaybook(pb, makeEnvelope('x', 'test', { pct: 50 }, { subject: 'events.disk.full', target: 'web-1' }));
    expect(low.fires).toBe(false);
    expect(formatExplanation(low)).toContain('WOULD NOT FIRE: when "event.data.pct >= 90.0" is false');
    const other = explainPlaybook(pb, makeEnvelope('x', 'test', { pct: 99 }, { subject: 'events.disk.full', target: 'db-1' }));
    expect(formatExplanation(other)).toContain('WOULD NOT FIRE: "db-1" in [web-1, web-2]');
    const subj = explainPlaybook(pb, makeEnvelope('x', 'test', {}, { subject: 'events.cpu.high.x', target: 'web-1' }));
    expect(subj.fires).toBe(false);
    expect(subj.trigger).toHaveLength(1);
  });

  it('`homeostat playbooks explain FILE --event EVENT.json` prints the dry run; a bad event file is a clear error', async () => {
    const file = join(dir, 'disk.yaml');
    writeFileSync(file, PB.replaceAll('test.fix', 'process.restart').replaceAll('test.other', 'process.restart').replaceAll('test.undo', 'notify.send').replaceAll('test.probe', 'target.health'));
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ subject: 'events.disk.full', target: 'web-2', data: { pct: 97, path: '/tmp', reason: 'disk' } }));
    const main = join(settings.root, 'dist', 'cli', 'main.js');
    const r = await promisify(execFile)(process.execPath, [main, 'playbooks', 'explain', file, '--event', event]);
    expect(r.stdout).toContain('WOULD FIRE');
    expect(r.stdout).toContain('3. restart: action process.restart {"target":"web-2","reason":"disk"}');
    expect(r.stdout).toContain('nothing was published');
    writeFileSync(event, '{"target": "web-2"}');
    const bad = await promisify(execFile)(process.execPath, [main, 'playbooks', 'explain', file, '--event', event]).catch((e: { code: number; stderr: string }) => e);
    expect('code' in bad && bad.code).toBe(2);
    expect(bad.stderr).toMatch(/event\.json: not an event: subject/);
  });
});
