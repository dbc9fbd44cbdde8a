import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { ActionResultData, newId, ROLES, subjects } from '../bus/index.js';
import { setup, type TestContext } from '../test/setup.js';
import { ActionServer, Blacklist, BlacklistRefusedError, busBlacklist, busPing, JsonFileBlacklistStore, type BlacklistEntry } from './index.js';

async function login(ctx: TestContext, user: string): Promise<NatsConnection> {
  const c = ctx.nats.credentials(user);
  const nc = await connect({ servers: c.url, user: c.user, pass: c.password, name: `${user}-test`, reconnect: false });
  ctx.defer(() => nc.close().catch(() => undefined));
  return nc;
}

async function openBlacklist(ctx: TestContext, onLifted?: (e: BlacklistEntry) => void) {
  const store = new JsonFileBlacklistStore(join(ctx.dir, 'blacklist.json'));
  const bl = await Blacklist.open({ server: ctx.nats, store, log: ctx.log, onLifted });
  ctx.defer(() => bl.stop());
  return { bl, store };
}

describe('blacklist', () => {
  it('cuts a real connection: the server closes it and refuses the login', async () => {
    await using ctx = await setup();
    const rogue = await login(ctx, 'rogue');
    const closed = rogue.closed();
    const { bl, store } = await openBlacklist(ctx);
    const out = await bl.add('rogue', { ttlMs: 60_000, reason: 'test' });
    expect(out.closed).toHaveLength(1);
    expect(out.entry).toMatchObject({ actor: 'rogue', reason: 'test', ttlMs: 60_000 });
    await closed; // the server closed it; the client did not ask to
    expect(rogue.isClosed()).toBe(true);
    await expect(login(ctx, 'rogue')).rejects.toThrow(/Authorization Violation/i);
    expect(store.load().map((e) => e.actor)).toEqual(['rogue']);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    // blacklisting again extends the entry (the reload changes nothing, and still completes)
    const again = await bl.add('rogue', { ttlMs: 120_000 });
    expect(again).toMatchObject({ alreadyBlacklisted: true, closed: [], entry: { since: out.entry.since, ttlMs: 120_000 } });
    // other users are untouched
    const op = await login(ctx, 'operator');
    await op.flush();
  });

  it('restores the actor when the TTL expires, and reloads the server', async () => {
    await using ctx = await setup();
    let lifted!: (e: BlacklistEntry) => void;
    const liftedP = new Promise<BlacklistEntry>((r) => (lifted = r));
    const { bl, store } = await openBlacklist(ctx, (e) => lifted(e));
    await bl.add('rogue', { ttlMs: 300 });
    await expect(login(ctx, 'rogue')).rejects.toThrow(/Authorization Violation/i);
    expect((await liftedP).actor).toBe('rogue');
    const back = await login(ctx, 'rogue');
    await back.flush();
    expect(bl.blocked().size).toBe(0);
    expect(store.load()).toEqual([]);
  });

  it('entries survive a restart: a new blacklist on the same store re-applies them and drops expired ones', async () => {
    await using ctx = await setup();
    const store = new JsonFileBlacklistStore(join(ctx.dir, 'blacklist.json'));
    const now = Date.now();
    store.save([
      { actor: 'rogue', reason: 'earlier', since: new Date(now - 1000).toISOString(), expiresAt: new Date(now + 60_000).toISOString(), ttlMs: 61_000 },
      { actor: 'gone', reason: 'old', since: new Date(now - 9000).toISOString(), expiresAt: new Date(now - 1000).toISOString(), ttlMs: 8000 },
    ]);
    const bl = await Blacklist.open({ server: ctx.nats, store, log: ctx.log });
    ctx.defer(() => bl.stop());
    expect([...bl.blocked()]).toEqual(['rogue']);
    expect(store.load().map((e) => e.actor)).toEqual(['rogue']);
    await expect(login(ctx, 'rogue')).rejects.toThrow(/Authorization Violation/i);
  });

  it('refuses to blacklist a Homeostat role or a user the config does not have, naming the rule', async () => {
    await using ctx = await setup();
    const { bl } = await openBlacklist(ctx);
    for (const role of ROLES) {
      const err = await bl.add(role).then(() => null, (e: unknown) => e);
      expect(err, role).toBeInstanceOf(BlacklistRefusedError);
      expect((err as BlacklistRefusedError).rule).toBe('protected-role');
      expect((err as Error).message).toMatch(new RegExp(`refusing to blacklist "${role}": rule protected-role`));
    }
    await expect(bl.add('mallory')).rejects.toThrow(/rule known-actor/);
    expect(bl.blocked().size).toBe(0);
    const engine = await login(ctx, 'engine');
    await engine.flush();
  });

  it('bus.blacklist answers refused with the rule over the bus, and bus.ping round-trips', async () => {
    await using ctx = await setup();
    const { bl } = await openBlacklist(ctx);
    const handler = await ctx.connect('handler');
    new ActionServer(handler, ctx.log).register(busBlacklist(bl), busPing(handler)).start();
    await handler.flush();
    const engine = await ctx.connect('engine');
    const call = (action: string, params: Record<string, unknown>) => {
      const actionId = newId();
      const [f, v] = action.split('.') as [string, string];
      return engine.call(subjects.action(f, v), actionId, { actionId, action, params }, ActionResultData, 5000);
    };
    const refused = await call('bus.blacklist', { actor: 'engine' });
    expect(refused.data.status).toBe('refused');
    expect(refused.data.error).toMatchObject({ code: 'HANDLER_BLACKLIST_REFUSED', message: expect.stringMatching(/rule protected-role/) as string });
    const ping = await call('bus.ping', {});
    expect(ping.data).toMatchObject({ status: 'ok', result: { ok: true } });
  });

  it('refuses a damaged blacklist file at start with the file named', async () => {
    await using ctx = await setup();
    const file = join(ctx.dir, 'blacklist.json');
    writeFileSync(file, JSON.stringify({ version: 1, entries: [{ actor: 'rogue' }] }));
    const store = new JsonFileBlacklistStore(file);
    await expect(Blacklist.open({ server: ctx.nats, store, log: ctx.log })).rejects.toThrow(new RegExp(`${file}: entries\\.0\\.reason`));
  });
});
