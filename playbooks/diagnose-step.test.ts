import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError, formatProblem } from '../config/index.js';
import { TEST_ACTIONS, playbooks } from '../test/engine-harness.js';
import { candidatesOf, decideChoice, loadPlaybookDir, parsePlaybook } from './index.js';

const TRIAGE = `name: triage
on:
  event: events.app.*
steps:
  - id: ask
    diagnose:
      playbooks: [fix, ghost]
`;
const FIX = `name: fix
description: Fix it.
on:
  event: events.fix.needed
llm: { auto: true, min_confidence: 0.8 }
steps:
  - id: a
    action: test.fix
  - id: b
    action: redis.flushall
    approval: required
`;

describe('the diagnose step and the llm rule in playbook files', () => {
  it('refuses an allow-list naming a playbook the library does not hold, with file, line and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-diag-'));
    try {
      writeFileSync(join(dir, 'triage.yaml'), TRIAGE);
      writeFileSync(join(dir, 'fix.yaml'), FIX);
      let err: unknown;
      try {
        loadPlaybookDir(dir, { actions: TEST_ACTIONS });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigFileError);
      expect((err as ConfigFileError).problems.map(formatProblem)).toEqual([expect.stringMatching(/triage\.yaml:7:\d+: steps\.0\.diagnose\.playbooks\.1: no playbook "ghost" is loaded/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a playbook that chooses itself, and a diagnose step with another kind', () => {
    const self = TRIAGE.replace('[fix, ghost]', '[triage]');
    expect(() => parsePlaybook('t.yaml', self, { actions: TEST_ACTIONS })).toThrow(/cannot choose itself/);
    const both = TRIAGE.replace('    diagnose:', '    action: test.fix\n    diagnose:');
    expect(() => parsePlaybook('t.yaml', both, { actions: TEST_ACTIONS })).toThrow(/exactly one of/);
  });

  it('shows the model each candidate with its highest step risk, and applies the llm rule', () => {
    const [fix, plain] = playbooks(FIX, FIX.replace('name: fix', 'name: plain').replace(/llm:.*\n/, ''));
    expect(candidatesOf([fix!, plain!], ['fix', 'nope'])).toEqual([{ name: 'fix', description: 'Fix it.', risk: 'high' }]);
    const answer = (playbook: string | null, confidence: number) => ({ root_cause: 'r', confidence, playbook, justification: 'j' });
    const all = [fix!, plain!];
    expect(decideChoice(all, answer('fix', 0.9), 'events.fix.needed').kind).toBe('auto');
    expect(decideChoice(all, answer('fix', 0.5), 'events.fix.needed')).toMatchObject({ kind: 'approval', reason: expect.stringMatching(/below 0.8/) });
    expect(decideChoice(all, answer('fix', 0.9), 'events.other.thing')).toMatchObject({ kind: 'approval', reason: expect.stringMatching(/does not cover/) });
    expect(decideChoice(all, answer('plain', 1), 'events.fix.needed')).toMatchObject({ kind: 'approval', reason: expect.stringMatching(/no `llm: auto`/) });
    expect(decideChoice(all, answer(null, 1), 'events.fix.needed').kind).toBe('stop');
  });
});
