import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LEASE_BUCKET, Leases } from '../bus/index.js';
import { setup } from '../test/setup.js';
import { claimStackIdentity, StackIdentityTakenError } from './stack-identity.js';

describe('stack identity and leases (HOMEOSTAT_LEASES, real nats-server)', () => {
  it('refuses a second stack with the same identity on one bus, with a message that says what to do; another identity, or after release, is fine', async () => {
    await using ctx = await setup();
    const first = await claimStackIdentity(await ctx.connect('engine', 'engine-1'), 'prod', ctx.log);
    const second = claimStackIdentity(await ctx.connect('engine', 'engine-2'), 'prod', ctx.log);
    await expect(second).rejects.toBeInstanceOf(StackIdentityTakenError);
    await expect(second).rejects.toThrow(/another homeostat stack with identity "prod" is running on this bus \(held by .+:\d+:\w+, lease renewed until .+\): stop it, or give this stack another HOMEOSTAT_IDENTITY/);
    const other = await claimStackIdentity(await ctx.connect('engine', 'engine-3'), 'staging', ctx.log);
    await first.release();
    const again = await claimStackIdentity(await ctx.connect('engine', 'engine-4'), 'prod', ctx.log);
    expect(again.token).toBeGreaterThan(first.token);
    await Promise.all([other.release(), again.release()]);
  });

  it('treats a lease record that does not parse as expired, and logs it', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('engine');
    const kv = await bus.openKv(LEASE_BUCKET);
    await kv.put('stack.prod', '{"holder": 42');
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const id = await claimStackIdentity(bus, 'prod', log);
    expect(id.lost).toBe(false);
    expect(warnings.some((w) => w.includes('lease record unreadable; treated as expired') && w.includes('"key":"stack.prod"'))).toBe(true);
    await id.release();
    await kv.put('target.w1', JSON.stringify({ holder: '', expiresAt: 'soon' }));
    const got = await (await Leases.open(bus, log)).acquire('target.w1', 'engine-a', 5000);
    expect(got.ok).toBe(true);
    expect(warnings.some((w) => w.includes('target.w1'))).toBe(true);
  });

  it('fences a holder that lost its lease: the revision is the token, a stale token cannot renew', async () => {
    await using ctx = await setup();
    const [a, b] = [await Leases.open(await ctx.connect('engine', 'ea')), await Leases.open(await ctx.connect('engine', 'eb'))];
    const t0 = Date.now();
    const la = await a.acquire('target.w1', 'engine-a', 1000, t0);
    if (!la.ok) throw new Error('engine-a should hold the lease');
    // while it runs, engine-b is refused with the holder named
    expect(await b.acquire('target.w1', 'engine-b', 1000, t0 + 500)).toEqual({ ok: false, holder: 'engine-a', expiresAt: t0 + 1000 });
    // engine-a paused past its TTL: engine-b takes over with a higher token
    const lb = await b.acquire('target.w1', 'engine-b', 1000, t0 + 1500);
    if (!lb.ok) throw new Error('engine-b should take the expired lease');
    expect(lb.lease.token).toBeGreaterThan(la.lease.token);
    // engine-a wakes up: its renewal is refused (its token is stale), engine-b's goes on
    expect(await a.renew(la.lease, 1000, t0 + 1600)).toBeNull();
    expect((await b.renew(lb.lease, 1000, t0 + 1600))?.token).toBeGreaterThan(lb.lease.token);
  });
});
