import { appendFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { AclViolationData } from '../bus/index.js';
import { nextMessage, setup, type TestContext } from '../test/setup.js';
import { AclLogSource, LogTail, parseNatsLogLine } from './index.js';

/** Logs in as `user` with a plain nats.js connection (no self-reporting) and makes it violate. */
async function violate(ctx: TestContext, user: string, acts: (nc: Awaited<ReturnType<typeof connect>>) => void) {
  const creds = ctx.nats.credentials(user);
  const nc = await connect({ servers: creds.url, user: creds.user, pass: creds.password, name: `${user}-client` });
  ctx.defer(() => nc.close());
  acts(nc);
  await nc.flush();
  return nc;
}

/** Waits until the server's log holds `n` lines containing `needle`, by following it with a tail. */
async function logged(file: string, needle: string, n: number): Promise<string[]> {
  const found: string[] = [];
  let done!: () => void;
  const enough = new Promise<void>((r) => (done = r));
  const tail = new LogTail(file, (l) => {
    if (l.includes(needle)) found.push(l);
    if (found.length >= n) done();
  }, { from: 'start' });
  tail.start();
  await enough;
  tail.stop();
  return found;
}

describe('nats-server log lines', () => {
  it('reads the 2.9 form written by the real server: publish and subscription violations', async () => {
    await using ctx = await setup();
    await violate(ctx, 'rogue', (nc) => {
      nc.publish('actions.process.restart', 'x');
      nc.subscribe('secret.>');
    });
    const lines = await logged(ctx.nats.logFile, 'Violation', 2);
    const parsed = lines.map((l) => parseNatsLogLine(l));
    expect(parsed[0]).toMatchObject({ kind: 'violation', violation: { actor: 'rogue', subject: 'actions.process.restart', operation: 'publish' } });
    expect((parsed[0] as { violation: { client: string } }).violation.client).toMatch(/^v[\d.]+:nats\.js:rogue-client$/);
    expect(parsed[1]).toMatchObject({ kind: 'violation', violation: { actor: 'rogue', subject: 'secret.>', operation: 'subscribe' } });
    const v = (parsed[0] as { violation: { clientId: number; time: string; address: string } }).violation;
    expect(v.clientId).toBeGreaterThan(0);
    expect(v.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Math.abs(Date.parse(v.time) - Date.now())).toBeLessThan(60_000);
  });

  it('reads the newer form with the account and user in the prefix, and the issue example', () => {
    const newer = parseNatsLogLine('[1] 2024/05/01 10:00:00.123456 [ERR] 127.0.0.1:57456 - cid:6 - "v1.51.0:go:NATS CLI Version v0.4.0" - "$G/user:order-svc" - Publish Violation - Subject "billing.charge"');
    expect(newer).toEqual({
      kind: 'violation',
      violation: {
        actor: 'order-svc',
        account: '$G',
        subject: 'billing.charge',
        operation: 'publish',
        clientId: 6,
        address: '127.0.0.1:57456',
        client: 'v1.51.0:go:NATS CLI Version v0.4.0',
        time: new Date(2024, 4, 1, 10, 0, 0, 123).toISOString(),
      },
    });
    const queue = parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:9 - "v1:go" - "ORDERS/user:reader" - Subscription Violation - Subject "invoices.>", Queue: "q1", SID 3');
    expect(queue).toMatchObject({ kind: 'violation', violation: { actor: 'reader', account: 'ORDERS', operation: 'subscribe', subject: 'invoices.>', queue: 'q1' } });
    const jwt = parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:9 - "OP/APP/jwt:UABC234" - Publish Violation - Reply "_INBOX.x"');
    expect(jwt).toMatchObject({ kind: 'violation', violation: { actor: 'UABC234', account: 'OP/APP', subject: '_INBOX.x' } });
    const example = parseNatsLogLine('[ERR] 127.0.0.1:43572 - cid:4 - "v3.4.0:nats.js" - Publish Violation - User "rogue", Subject "control.restart"');
    expect(example).toMatchObject({ kind: 'violation', violation: { actor: 'rogue', subject: 'control.restart', clientId: 4, client: 'v3.4.0:nats.js' } });
    const quoted = parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:2 - Publish Violation - User "a\\"b", Subject "x\\x01y"');
    expect(quoted).toMatchObject({ kind: 'violation', violation: { actor: 'a"b', subject: 'x\u0001y' } });
  });

  it('tells other server lines from garbled ones', () => {
    expect(parseNatsLogLine('[123] 2026/01/01 00:00:00.000001 [INF] Server is ready')).toEqual({ kind: 'other' });
    expect(parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:9 - authentication error - User "rogue"')).toEqual({ kind: 'other' });
    expect(parseNatsLogLine('hello world').kind).toBe('garbled');
    expect(parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:2 - Publish Violation - User "x" Subject').kind).toBe('garbled');
    expect(parseNatsLogLine('[ERR] nonsense - Publish Violation - Subject "a"').kind).toBe('garbled');
    expect(parseNatsLogLine('[ERR] 127.0.0.1:1 - cid:2 - Publish Violation - Subject "a"').kind).toBe('garbled');
  });
});

describe('log tail', () => {
  function tailOf(file: string) {
    const lines: string[] = [];
    const tail = new LogTail(file, (l) => void lines.push(l), { from: 'start', pollMs: 50 });
    tail.start();
    return { tail, lines };
  }

  it('holds a partial line until its newline arrives', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'partial.log');
    writeFileSync(file, 'one\ntw');
    const { tail, lines } = tailOf(file);
    ctx.defer(() => tail.stop());
    await tail.drain();
    expect(lines).toEqual(['one']);
    appendFileSync(file, 'o\r\nthree');
    await tail.drain();
    expect(lines).toEqual(['one', 'two']);
    appendFileSync(file, '\n');
    await tail.drain();
    expect(lines).toEqual(['one', 'two', 'three']);
  });

  it('starts over when the file is truncated, and drops an overlong line', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'trunc.log');
    writeFileSync(file, 'a-long-first-line\nsecond\n');
    const { tail, lines } = tailOf(file);
    ctx.defer(() => tail.stop());
    await tail.drain();
    truncateSync(file, 0);
    appendFileSync(file, 'x\n');
    await tail.drain();
    expect(lines).toEqual(['a-long-first-line', 'second', 'x']);
    expect(tail.counters.truncations).toBe(1);
    appendFileSync(file, `${'z'.repeat(70_000)}\nafter\n`);
    await tail.drain();
    expect(lines.at(-1)).toBe('after');
    expect(tail.counters.overlong).toBe(1);
  });

  it('follows a rotation after reading the old file to its end', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'rot.log');
    writeFileSync(file, 'old-1\n');
    const { tail, lines } = tailOf(file);
    ctx.defer(() => tail.stop());
    await tail.drain();
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'old-2\nold-partial');
    writeFileSync(file, 'new-1\n');
    await tail.drain();
    expect(lines).toEqual(['old-1', 'old-2', 'old-partial', 'new-1']);
    expect(tail.counters.rotations).toBe(1);
  });

  it('reads a flood of 50,000 lines without losing one', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'flood.log');
    writeFileSync(file, '');
    const { tail, lines } = tailOf(file);
    ctx.defer(() => tail.stop());
    for (let b = 0; b < 10; b++) {
      appendFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${b * 5000 + i}`).join('\n') + '\n');
    }
    await tail.drain();
    expect(lines.length).toBe(50_000);
    expect(lines[49_999]).toBe('line 49999');
  });
});

describe('nats-server log source', () => {
  async function source(ctx: TestContext) {
    const mon = await ctx.connect('monitor', 'acl-monitor');
    const seen: AclViolationData[] = [];
    const src = new AclLogSource(mon, ctx.nats.logFile, (v) => void seen.push(v), { log: ctx.log, from: 'end' });
    src.start();
    ctx.defer(() => src.stop());
    return { src, seen };
  }

  it('publishes acl.violation for each violation the server logs, and counts garbled lines', async () => {
    await using ctx = await setup();
    const watcher = await ctx.connect('operator');
    const { src, seen } = await source(ctx);
    const published = nextMessage(watcher, 'acl.violation', (e) => e.data.source === 'nats-log', 5000, AclViolationData);
    await watcher.flush();
    await violate(ctx, 'rogue', (nc) => {
      for (let i = 0; i < 3; i++) nc.publish('chaos.cpu_spike', 'x');
    });
    const env = await published;
    expect(env.data).toMatchObject({ actor: 'rogue', subject: 'chaos.cpu_spike', operation: 'publish', source: 'nats-log' });
    await logged(ctx.nats.logFile, 'Publish Violation', 3);
    appendFileSync(ctx.nats.logFile, 'garbage that is not a log line\n\x00\x01\x02\n');
    await src.drain();
    expect(seen.filter((v) => v.actor === 'rogue').length).toBe(3);
    expect(src.counters.garbled).toBe(2);
  });

  it('keeps reading when the server reopens a rotated log (SIGUSR1)', async () => {
    await using ctx = await setup();
    const { src, seen } = await source(ctx);
    await violate(ctx, 'rogue', (nc) => nc.publish('actions.x', 'x'));
    await logged(ctx.nats.logFile, 'Subject "actions.x"', 1);
    await src.drain();
    renameSync(ctx.nats.logFile, `${ctx.nats.logFile}.1`);
    process.kill(ctx.nats.pid, 'SIGUSR1');
    await logged(ctx.nats.logFile, 'File log re-opened', 1);
    await violate(ctx, 'rogue', (nc) => nc.publish('actions.y', 'y'));
    await logged(ctx.nats.logFile, 'Subject "actions.y"', 1);
    await src.drain();
    expect(seen.map((v) => v.subject)).toEqual(['actions.x', 'actions.y']);
    expect(src.counters.rotations).toBe(1);
    expect(readFileSync(`${ctx.nats.logFile}.1`, 'utf8')).toContain('actions.x');
  });
});
