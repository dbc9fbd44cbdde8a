import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { makeEnvelope } from '../bus/index.js';
import { ConfigFileError } from '../config/index.js';
import { TEST_ACTIONS } from '../test/engine-harness.js';
import { explainPlaybook, parsePlaybook } from './index.js';

/** Parses one text; the only acceptable failure is a ConfigFileError with located problems. Says whether it loaded. */
function check(text: string): boolean {
  const started = performance.now();
  let loaded = false;
  try {
    const pb = parsePlaybook('fuzz.yaml', text, { actions: TEST_ACTIONS });
    const ev = makeEnvelope('fuzz', 'fuzz', { pct: 95, cause: 'x' }, { subject: pb.playbook.on.event.replaceAll('*', 'a').replace('>', 'b'), target: 't' });
    explainPlaybook(pb, ev);
    loaded = true;
  } catch (e) {
    if (!(e instanceof ConfigFileError)) throw new Error(`not a validation error for:\n${text}\n→ ${String(e)}`, { cause: e });
    expect(e.problems.length).toBeGreaterThan(0);
    for (const p of e.problems) {
      expect(Number.isInteger(p.line) && Number.isInteger(p.col)).toBe(true);
      expect(p.message.length).toBeGreaterThan(0);
    }
  }
  expect(performance.now() - started).toBeLessThan(2000);
  return loaded;
}

const VALID = `name: fuzz
on:
  event: events.a.*
  when: event.data.pct >= 90.0
  dedupe: { key: "{{ event.target }}", window: 1m }
  cooldown: 5m
budget: { runs: 3, per: 1h }
steps:
  - id: stop-early
    when: event.data.cause == "corruption"
    stop: corrupt {{ event.target }}
  - id: act
    action: test.fix
    with: { target: "{{ event.target }}", n: 3 }
    retry: { attempts: 2, interval: 10ms }
    risk: high
    undo: { action: test.undo, with: { pid: "{{ steps.act.result.pid }}" } }
    on_failure:
      - action: notify.send
        with: { message: "failed {{ event.target }}" }
  - id: check
    verify: { probe: test.probe, expect: result.ok == true, within: 1s }
on_failure:
  - stop: manual
`;

const pick = <T,>(...xs: T[]) => fc.constantFrom(...xs);
const junk = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
const expr = fc.oneof(pick('event.data.pct > 1.0', 'true', 'result.ok', 'steps.act.status == "ok"', 'event.data.x +', '((((', '1 + "a"', 'size(event.data) > 0', 'event.data.list.all(x, x > 0)'), fc.string());
const template = fc.oneof(pick('{{ event.target }}', '{{ steps.act.result.pid }}', '{{ nope }}', '{{ event.target | x }}', '{{', 'plain'), fc.string());
const duration = fc.oneof(pick('10s', '1m', '250ms', 'soon', '-1s', '', '1e400'), fc.integer({ min: -5, max: 100_000 }));
const action = fc.oneof(pick('test.fix', 'test.probe', 'notify.send', 'no.such', 'bad', 'a.b.c'), fc.string());
const maybe = <T,>(a: fc.Arbitrary<T>) => fc.option(fc.oneof(a, junk), { nil: undefined, freq: 2 });

const step = fc.record(
  {
    id: fc.oneof(pick('act', 'check', 'a', 'b', '1bad', 'act'), fc.string()),
    when: maybe(expr),
    action: maybe(action),
    with: maybe(fc.dictionary(fc.string(), template, { maxKeys: 3 })),
    verify: maybe(fc.record({ probe: action, expect: expr, within: duration, interval: duration, backoff: fc.double() }, { requiredKeys: [] })),
    stop: maybe(template),
    timeout: maybe(duration),
    retry: maybe(fc.record({ attempts: fc.integer({ min: -2, max: 30 }), interval: duration, backoff: fc.double() }, { requiredKeys: [] })),
    risk: maybe(pick('low', 'medium', 'high', 'extreme')),
    approval: maybe(pick('required', 'none', 'maybe')),
    approval_timeout: maybe(duration),
    undo: maybe(fc.record({ action, with: fc.dictionary(fc.string(), template, { maxKeys: 2 }) }, { requiredKeys: [] })),
    on_failure: maybe(fc.array(fc.record({ action: maybe(action), stop: maybe(template), when: maybe(expr) }, { requiredKeys: [] }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

const playbook = fc.record(
  {
    name: fc.oneof(pick('fuzz', 'Bad Name', ''), fc.string()),
    description: maybe(fc.string()),
    priority: maybe(fc.oneof(fc.integer(), fc.double())),
    on: fc.oneof(
      fc.record(
        {
          event: fc.oneof(pick('events.>', 'events.a.*', 'events..x', '>', 'events.>.x', ''), fc.string()),
          targets: maybe(fc.array(fc.string(), { maxLength: 3 })),
          when: maybe(expr),
          dedupe: maybe(fc.record({ key: template, window: duration }, { requiredKeys: [] })),
          cooldown: maybe(duration),
        },
        { requiredKeys: [] },
      ),
      junk,
    ),
    budget: maybe(fc.record({ runs: fc.integer({ min: -1, max: 10 }), per: duration }, { requiredKeys: [] })),
    rollback: maybe(fc.boolean()),
    steps: fc.oneof(fc.array(step, { maxLength: 5 }), junk),
    on_failure: maybe(fc.array(step, { maxLength: 2 })),
  },
  { requiredKeys: [] },
);

describe('fuzzing the playbook loader', () => {
  it('random text: only validation errors, never a crash or a hang', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 200 })), (t) => void check(t)), { numRuns: 2000 });
  });

  it('random YAML documents of any shape', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 4 }), (v) => void check(stringify(v))), { numRuns: 1000 });
  });

  it('random playbook-shaped documents mixing valid and invalid fields', () => {
    fc.assert(fc.property(playbook, (v) => void check(stringify(v))), { numRuns: 2000 });
  });

  it('random edits of a valid playbook (deleted, inserted and swapped characters)', () => {
    expect(check(VALID)).toBe(true);
    const edit = fc.array(fc.tuple(fc.nat({ max: VALID.length }), fc.nat({ max: 8 }), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 4 });
    let loaded = 0;
    fc.assert(
      fc.property(edit, (edits) => {
        let text = VALID;
        for (const [at, del, ins] of edits) text = text.slice(0, at) + ins + text.slice(at + del);
        if (check(text)) loaded++;
      }),
      { numRuns: 1500 },
    );
    // some edits are harmless (inside values): those playbooks load and go through explain too
    expect(loaded).toBeGreaterThan(0);
  });

  it('hostile YAML: alias bombs, deep nesting, huge scalars, custom tags', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    for (const text of [
      bomb,
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      `name: x\non:\n  event: events.a\n  when: "${'('.repeat(3000)}true${')'.repeat(3000)}"\nsteps:\n  - { id: a, action: test.fix }\n`,
      `name: x\non:\n  event: events.a\n  when: "${'true && '.repeat(5000)}true"\nsteps:\n  - { id: a, action: test.fix }\n`,
      `name: ${'x'.repeat(1_000_000)}\n`,
      `name: !!binary aGVsbG8=\non: !custom { event: events.a }\nsteps: !!set { a, b }\n`,
    ]) {
      expect(check(text)).toBe(false);
    }
    expect(check(`name: x\non:\n  event: events.a\nsteps:\n  - { id: a, action: test.fix, with: { t: "${'{{ event.target }}'.repeat(10000)}" } }\n`)).toBe(true);
  });
});
