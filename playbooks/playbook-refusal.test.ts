import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../config/index.js';
import { ACTION_CATALOGUE } from '../handlers/index.js';
import { loadPlaybookDir, parsePlaybook } from './index.js';

const opts = { actions: ACTION_CATALOGUE };
const good = `name: p1
on:
  event: events.heartbeat.missed
steps:
  - id: restart
    action: process.restart
    with: { target: "{{ event.target }}" }
`;

function problems(text: string) {
  try {
    parsePlaybook('p.yaml', text, opts);
  } catch (e) {
    if (e instanceof ConfigFileError) return e.problems;
    throw e;
  }
  return [];
}

describe('playbook loading refuses bad files with file, line and field', () => {
  it('accepts a good playbook and the shipped library', () => {
    expect(problems(good)).toEqual([]);
    expect(loadPlaybookDir(join(import.meta.dirname, 'library'), opts).map((p) => p.playbook.name)).toContain('heartbeat-restart');
  });

  it('names an unknown field', () => {
    expect(problems(good.replace('    action:', '    acton: x\n    action:'))).toContainEqual(
      expect.objectContaining({ file: 'p.yaml', line: 6, col: 5, field: 'steps.0.acton', message: 'unknown field' }),
    );
  });

  it('names a missing field', () => {
    expect(problems(good.replace('  event: events.heartbeat.missed\n', '  targets: [a]\n'))).toContainEqual(
      expect.objectContaining({ field: 'on.event', line: 3 }),
    );
  });

  it('refuses an action no handler provides', () => {
    expect(problems(good.replace('process.restart', 'process.explode'))).toContainEqual(
      expect.objectContaining({ line: 6, field: 'steps.0.action', message: expect.stringContaining('no handler provides "process.explode"') }),
    );
  });

  it('refuses an expression that does not compile, with line and column', () => {
    const p = problems(good.replace('  event: events.heartbeat.missed\n', '  event: events.heartbeat.missed\n  when: "event.data.x >"\n'));
    expect(p).toContainEqual(expect.objectContaining({ line: 4, col: 9, field: 'on.when', message: expect.stringContaining('does not compile') }));
  });

  it('refuses a template that is code rather than a value path', () => {
    expect(problems(good.replace('{{ event.target }}', '{{ event.target + 1 }}'))).toContainEqual(
      expect.objectContaining({ field: 'steps.0.with.target', message: expect.stringContaining('not a field path') }),
    );
  });

  it('refuses the whole folder when one file is bad, listing the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-'));
    writeFileSync(join(dir, 'a.yaml'), good);
    writeFileSync(join(dir, 'b.yaml'), good.replace('name: p1', 'name: p1\ncolour: red'));
    expect(() => loadPlaybookDir(dir, opts)).toThrow(/b\.yaml:2:1: colour: unknown field/);
  });
});
