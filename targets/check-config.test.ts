import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../config/index.js';
import { loadTargets, targetsJsonSchemaText } from './index.js';
import { setup } from '../test/setup.js';

const head = 'targets:\n  - name: web\n    driver: process\n    command: python3\n    checks:\n';

async function problems(body: string) {
  await using ctx = await setup();
  const file = join(ctx.dir, 'targets.yaml');
  writeFileSync(file, head + body);
  try {
    loadTargets(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigFileError);
    return { file, problems: (e as ConfigFileError).problems, message: (e as Error).message };
  }
  throw new Error('loaded');
}

describe('targets.yaml checks', () => {
  it('refuses the first format\'s `health:` and `heartbeat:` fields, saying what to write instead', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'targets.yaml');
    writeFileSync(file, 'targets:\n  - name: web\n    driver: process\n    command: python3\n    health: { url: "http://127.0.0.1:8099/" }\n    heartbeat: { interval: 100ms }\n');
    expect(() => loadTargets(file)).toThrow(/targets\.yaml:5:13: targets\.0\.health: health checks are declared under `checks:`/);
    expect(() => loadTargets(file)).toThrow(/targets\.yaml:6:16: targets\.0\.heartbeat: a heartbeat is a check/);
  });

  it('loads every kind with its defaults', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'targets.yaml');
    writeFileSync(
      file,
      head +
        '      - { kind: http, url: "http://127.0.0.1:8099/", status: 200, body: ok, interval: 250ms, timeout: 200ms, failures: 2 }\n' +
        '      - { kind: tcp, port: 8099 }\n' +
        '      - { kind: exec, name: ping, argv: [redis-cli, ping], interval: 5s }\n' +
        '      - { kind: heartbeat }\n',
    );
    expect(loadTargets(file)[0]!.checks).toEqual([
      { kind: 'http', url: 'http://127.0.0.1:8099/', status: 200, body: 'ok', interval: 250, timeout: 200, failures: 2, successes: 1, startGrace: 2000 },
      { kind: 'tcp', host: '127.0.0.1', port: 8099, interval: 1000, failures: 3, successes: 1, startGrace: 2000 },
      { kind: 'exec', name: 'ping', argv: ['redis-cli', 'ping'], interval: 5000, failures: 3, successes: 1, startGrace: 2000 },
      { kind: 'heartbeat', interval: 100, misses: 3, startGrace: 5000 },
    ]);
  });

  it('refuses a shell string as argv, with file, line and field', async () => {
    const { file, problems: p } = await problems('      - kind: exec\n        argv: "redis-cli ping | grep PONG"\n');
    expect(p).toEqual([expect.objectContaining({ file, line: 7, col: 15, field: 'targets.0.checks.0.argv', message: expect.stringMatching(/argv array, never a shell string/) })]);
  });

  it('refuses an unknown kind, a missing field, an unknown field and a too short interval', async () => {
    expect((await problems('      - { kind: smoke-signal }\n')).problems[0]).toMatchObject({ line: 6, field: 'targets.0.checks.0.kind' });
    expect((await problems('      - { kind: tcp }\n')).message).toMatch(/targets\.yaml:6:\d+: targets\.0\.checks\.0\.port: required field is missing/);
    expect((await problems('      - { kind: tcp, port: 80, colour: red }\n')).problems[0]).toMatchObject({ line: 6, field: 'targets.0.checks.0.colour', message: 'unknown field' });
    expect((await problems('      - { kind: http, url: "http://x/", interval: 10ms }\n')).problems[0]).toMatchObject({ line: 6, field: 'targets.0.checks.0.interval', message: expect.stringMatching(/at least 50ms/) });
  });

  it('refuses two checks of one name, and a `path` with no port to resolve it against', async () => {
    const dup = await problems('      - { kind: tcp, port: 80 }\n      - { kind: tcp, port: 81 }\n');
    expect(dup.problems[0]).toMatchObject({ line: 7, field: 'targets.0.checks.1.name', message: expect.stringMatching(/duplicate check name "tcp"/) });
    const path = await problems('      - { kind: http, path: /health }\n');
    expect(path.problems[0]).toMatchObject({ line: 6, field: 'targets.0.checks.0.path', message: expect.stringMatching(/numeric `port`/) });
  });

  it('gives a redis or postgres check without `port` its target\'s port (a container on the host network), and refuses one when the target has none', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'targets.yaml');
    writeFileSync(
      file,
      'targets:\n' +
        '  - { name: cache, driver: docker, port: 16500, create: { image: homeostat/redis:1 }, checks: [{ kind: redis }] }\n' +
        '  - { name: db, driver: docker, port: 16501, checks: [{ kind: postgres, appRole: app }, { kind: postgres, name: other, port: 16502 }] }\n',
    );
    const [cache, db] = loadTargets(file);
    expect(cache!.checks[0]).toMatchObject({ kind: 'redis', host: '127.0.0.1', port: 16500 });
    expect(db!.checks).toMatchObject([{ kind: 'postgres', port: 16501, appRole: 'app' }, { kind: 'postgres', port: 16502 }]);
    const none = await problems('      - { kind: redis }\n');
    expect(none.problems[0]).toMatchObject({ line: 6, field: 'targets.0.checks.0.port', message: expect.stringMatching(/a redis check needs a `port`, or its target a numeric `port`/) });
  });

  it('targets/schema.json is the JSON Schema generated from the zod schema (regenerate: homeostat targets schema --write targets/schema.json)', () => {
    expect(readFileSync(join(import.meta.dirname, 'schema.json'), 'utf8')).toBe(targetsJsonSchemaText());
  });
});
