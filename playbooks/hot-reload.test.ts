import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlaybookInvalidData, PlaybookReloadedData } from '../bus/index.js';
import { engineHarness, TEST_ACTION_NAMES, TEST_ACTIONS } from '../test/engine-harness.js';
import { setup } from '../test/setup.js';
import { loadPlaybookDir, watchPlaybookLibrary } from './index.js';

const version = (action: string) => `name: hot\non:\n  event: events.test.hot\nsteps:\n  - id: a\n    action: ${action}\n`;

describe('hot reload of the playbook folder', () => {
  it('applies a valid new version, keeps the old one when the new one is invalid, and withdraws a deleted file', async () => {
    await using ctx = await setup();
    const dir = join(ctx.dir, 'playbooks');
    mkdirSync(dir);
    const file = join(dir, 'hot.yaml');
    writeFileSync(file, version('test.fix'));
    const initial = loadPlaybookDir(dir, { actions: TEST_ACTIONS });
    const h = await engineHarness(ctx, initial);
    // as in a stack without a managed nats-server: bus.blacklist is known but no running handler serves it
    ctx.defer(watchPlaybookLibrary(h.engine, dir, { actions: TEST_ACTIONS, served: TEST_ACTION_NAMES.filter((a) => a !== 'bus.blacklist') }, initial, 50));

    await h.emit('events.test.hot', 'a');
    await h.endFor('a');

    // an editor's write: a temporary file renamed over the old one
    writeFileSync(join(dir, '.hot.yaml.tmp'), version('test.other'));
    renameSync(join(dir, '.hot.yaml.tmp'), file);
    const loaded = await h.until((s) => s.subject === 'events.playbook.reloaded');
    expect(PlaybookReloadedData.parse(loaded.env.data)).toEqual({ file, playbook: 'hot', change: 'loaded' });
    await h.emit('events.test.hot', 'b');
    await h.endFor('b');

    writeFileSync(file, `name: hot\non:\n  event: events.test.hot\n  when: event.data.x >\nsteps:\n  - id: a\n    action: test.fix\n`);
    const invalid = PlaybookInvalidData.parse((await h.until((s) => s.subject === 'events.playbook.invalid')).env.data);
    expect(invalid.kept).toBe('hot');
    expect(invalid.problems[0]).toMatch(new RegExp(`^${file}:4:\\d+: on\\.when: expression does not compile`));
    await h.emit('events.test.hot', 'c');
    await h.endFor('c');
    expect(h.requests.map((r) => `${r.target}:${r.action}`)).toEqual(['a:test.fix', 'b:test.other', 'c:test.other']);

    writeFileSync(file, version('bus.blacklist'));
    const unserved = PlaybookInvalidData.parse((await h.until((s) => s.subject === 'events.playbook.invalid' && (s.env.data as { problems: string[] }).problems.some((p) => p.includes('bus.blacklist')))).env.data);
    expect(unserved).toMatchObject({ kept: 'hot', problems: [expect.stringMatching(new RegExp(`^${file}:6:13: steps\\.0\\.action: no running handler serves "bus\\.blacklist"`))] });

    writeFileSync(join(dir, 'twin.yaml'), version('test.fix'));
    const dup = PlaybookInvalidData.parse((await h.until((s) => s.subject === 'events.playbook.invalid' && (s.env.data as { file: string }).file.endsWith('twin.yaml'))).env.data);
    expect(dup.problems[0]).toMatch(/"hot" is already defined in .*hot\.yaml/);

    unlinkSync(file);
    await h.until((s) => s.subject === 'events.playbook.reloaded' && (s.env.data as { change: string }).change === 'removed');
    // the refused twin takes over the freed name
    expect(h.engine.playbooks.map((p) => p.playbook.name)).toEqual(['hot']);
    expect(h.engine.playbooks[0]!.file).toMatch(/twin\.yaml$/);
    unlinkSync(join(dir, 'twin.yaml'));
    await h.until((s) => s.subject === 'events.playbook.reloaded' && (s.env.data as { file: string; change: string }).file.endsWith('twin.yaml') && (s.env.data as { change: string }).change === 'removed');
    expect(h.engine.playbooks).toEqual([]);
    // events reach the engine in the order one client published them: once the run for "e"
    // (a playbook added afterwards) has ended, the event for "d" was seen and started nothing
    await h.emit('events.test.hot', 'd');
    writeFileSync(join(dir, 'later.yaml'), version('test.fix').replace('name: hot', 'name: later').replace('events.test.hot', 'events.test.later'));
    await h.until((s) => s.subject === 'events.playbook.reloaded' && (s.env.data as { playbook: string }).playbook === 'later');
    await h.emit('events.test.later', 'e');
    await h.endFor('e');
    expect(h.engine.runs.map((r) => r.target)).toEqual(['a', 'b', 'c', 'e']);
  });
});
