import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { setup } from '../test/setup.js';
import { DURABLE_STREAMS, DurablePublisher, ensureStream } from './index.js';

describe('durable publisher', () => {
  it('stores each envelope once by its id, answers duplicates, keeps order, and fails transiently when no stream takes the subject', async () => {
    await using ctx = await setup();
    const engine = await ctx.connect('engine');
    const intake = await ctx.connect('intake');
    const noStream = new DurablePublisher(intake, 1000);
    ctx.defer(() => noStream.close());
    // before the stream exists: no responders, a transient error (the intake answers 503)
    await expect(noStream.publish('events.alert.x', 'alert.x', { n: 0 }, { id: 'id-0' })).rejects.toMatchObject({ name: 'DurableBusError', transient: true, message: expect.stringMatching(/no stream/) as unknown });
    await ensureStream(engine, DURABLE_STREAMS.events);
    const stages: string[] = [];
    const pub = new DurablePublisher(intake, undefined, (stage, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      stages.push(stage);
    });
    ctx.defer(() => pub.close());
    const first = await Promise.all(Array.from({ length: 200 }, (_, i) => pub.publish('events.alert.x', 'alert.x', { n: i }, { id: `id-${i}` })));
    expect(first.map((r) => r.duplicate)).toEqual(Array(200).fill(false));
    expect(first.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const again = await pub.publish('events.alert.x', 'alert.x', { n: 7 }, { id: 'id-7' });
    expect(again).toMatchObject({ duplicate: true, seq: 8 });
    const jsm = await jetstreamManager(engine.nc);
    expect((await jsm.streams.info(DURABLE_STREAMS.events.name)).state.messages).toBe(200);
    expect(pub.pending).toBe(0);
    // the timing hook (bench:intake's stages): each publish written, then acknowledged
    expect(stages.filter((s) => s === 'write')).toHaveLength(201);
    expect(stages.filter((s) => s === 'streamAck')).toHaveLength(201);
  });
});
