import { describe, expect, it } from 'vitest';
import { makeEnvelope } from '../bus/index.js';
import { nextMessage, setup } from '../test/setup.js';
import { LiveFeed } from './live-feed.js';

describe('live feed', () => {
  it('numbers what it hears on the bus, skips what is not an envelope, and resumes after a Last-Event-ID', async () => {
    await using ctx = await setup();
    const feed = new LiveFeed({ bus: await ctx.connect('dashboard'), log: ctx.log, capacity: 3 });
    feed.start();
    await (await ctx.connect('dashboard', 'flush')).flush();
    const monitor = await ctx.connect('monitor');
    const watch = await ctx.connect('operator', 'watch');
    const last = nextMessage(watch, 'events.test.c');
    await watch.flush();
    monitor.nc.publish('events.test.bad', 'not json');
    for (const k of ['a', 'b', 'c']) monitor.publish(`events.test.${k}`, `test.${k}`, {});
    await last;
    await expect.poll(() => feed.lastSeq).toBe(3);
    expect(feed.stats).toMatchObject({ received: 3, skipped: 1 });
    expect(feed.stats.busyMs).toBeGreaterThan(0);
    const [a, b, c] = feed.items();
    expect([a!.subject, b!.subject, c!.subject]).toEqual(['events.test.a', 'events.test.b', 'events.test.c']);
    expect(b!.id).toBe(`${feed.epoch}-2`);
    // the stream's data is the envelope received, as one line
    expect(JSON.parse(b!.json)).toEqual({ subject: 'events.test.b', envelope: b!.envelope });

    expect(feed.after(undefined)).toEqual({ kind: 'items', items: [a, b, c] });
    expect(feed.after(a!.id)).toEqual({ kind: 'items', items: [b, c] });
    expect(feed.after(c!.id)).toEqual({ kind: 'items', items: [] });
    expect(feed.after(`zz${feed.epoch}-2`)).toMatchObject({ kind: 'reset', reason: 'the server restarted since your last event' });
    expect(feed.after('<script>')).toMatchObject({ kind: 'reset', reason: expect.stringMatching(/^not an event id of this server/) });
    expect(feed.after(`${feed.epoch}-9`)).toMatchObject({ kind: 'reset', reason: 'event 9 is ahead of this server (3)' });

    // the ring keeps 3: after two more, an id older than the oldest kept is a reset, with everything kept
    feed.push('events.test.d', makeEnvelope('test.d', 'test', {}));
    feed.push('events.test.e', makeEnvelope('test.e', 'test', {}));
    expect(feed.items().map((i) => i.seq)).toEqual([3, 4, 5]);
    expect(feed.after(a!.id)).toMatchObject({ kind: 'reset', reason: 'events 2–2 are no longer kept' });
    expect(feed.after(b!.id)).toMatchObject({ kind: 'items', items: feed.items() });
    feed.stop();
  });

  it('sends an envelope received over several lines as one line (an SSE data line holds one)', async () => {
    await using ctx = await setup();
    const feed = new LiveFeed({ bus: await ctx.connect('dashboard'), log: ctx.log });
    feed.start();
    await (await ctx.connect('dashboard', 'flush')).flush();
    const monitor = await ctx.connect('monitor');
    const env = makeEnvelope('test.pretty', 'test', { text: 'a\nb' }, { subject: 'events.test.pretty' });
    monitor.nc.publish('events.test.pretty', JSON.stringify(env, null, 2));
    monitor.nc.publish('events.test.compact', ` ${JSON.stringify(env)} `);
    await monitor.flush();
    await expect.poll(() => feed.lastSeq).toBe(2);
    for (const item of feed.items()) {
      expect(item.json).not.toMatch(/[\r\n]/);
      expect(JSON.parse(item.json)).toEqual({ subject: item.subject, envelope: env });
    }
    feed.stop();
  });
});
