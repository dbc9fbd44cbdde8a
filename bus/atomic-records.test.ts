import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KvRecords, MemoryRecords, recordKey, recordKeyPart } from './index.js';
import { setup } from '../test/setup.js';

const Counter = z.object({ n: z.number().int() });

describe('atomic records', () => {
  it('escapes any text into KV key tokens, reversibly distinct', () => {
    expect(recordKey('restart-loop', 'worker_1')).toBe('restart-loop.worker_1');
    expect(recordKeyPart('a.b c*>')).toBe('a=2Eb=20c=2A=3E');
    expect(recordKeyPart('')).toBe('=');
    expect(recordKeyPart('é')).toBe('=C3=A9');
    expect(recordKeyPart('a.b')).not.toBe(recordKeyPart('a_b'));
  });

  it('in a KV bucket: concurrent read-modify-writes from two connections lose nothing (compare-and-set, retried on conflict)', async () => {
    await using ctx = await setup();
    // the engine role may use the trigger bucket
    const [a, b] = [await ctx.connect('engine', 'engine-a'), await ctx.connect('engine', 'engine-b')];
    const ra = (await a.openRecords('HOMEOSTAT_TRIGGERS'))('test', Counter);
    const rb = (await b.openRecords('HOMEOSTAT_TRIGGERS'))('test', Counter);
    const inc = (r: typeof ra) => r.update('c', (cur) => ({ next: { n: (cur?.n ?? 0) + 1 }, result: undefined }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => inc(i % 2 ? ra : rb)));
    expect(await ra.get('c')).toEqual({ n: 40 });
    expect(ra.conflicts + rb.conflicts).toBeGreaterThan(0);
    // a decision to leave the record as it is writes nothing; null deletes it
    expect(await rb.update('c', (cur) => ({ result: cur?.n }))).toBe(40);
    await rb.update('c', () => ({ next: null, result: undefined }));
    expect(await ra.get('c')).toBeNull();
    await inc(ra);
    expect(await rb.get('c')).toEqual({ n: 1 });
  });

  it('a record that is not JSON or breaks its schema reads as absent, is logged, and is overwritten by the next change', async () => {
    await using ctx = await setup();
    const bus = await ctx.connect('engine');
    const kv = await bus.openKv('HOMEOSTAT_TRIGGERS');
    const warnings: string[] = [];
    const log = ctx.log.child({});
    log.warn = ((o: unknown, m?: string) => void warnings.push(`${m ?? ''} ${JSON.stringify(o)}`));
    const r = new KvRecords(kv, 'HOMEOSTAT_TRIGGERS', 'test', Counter, log);
    await kv.put('test.bad', '{not json');
    await kv.put('test.wrong', JSON.stringify({ n: 'x' }));
    expect(await r.get('bad')).toBeNull();
    expect(await r.get('wrong')).toBeNull();
    expect(warnings.some((w) => w.includes('not JSON') && w.includes('test.bad'))).toBe(true);
    expect(warnings.some((w) => w.includes('breaks its schema') && w.includes('test.wrong'))).toBe(true);
    await r.update('bad', (cur) => ({ next: { n: (cur?.n ?? 0) + 1 }, result: undefined }));
    expect(await r.get('bad')).toEqual({ n: 1 });
  });

  it('in memory: records expire at the time their change gave', async () => {
    let now = 1000;
    const r = new MemoryRecords<{ v: number }>(() => now);
    await r.update('k', () => ({ next: { v: 1 }, result: undefined, expiresAt: 1500 }));
    expect(await r.get('k')).toEqual({ v: 1 });
    now = 1500;
    expect(await r.get('k')).toBeNull();
    now = 5000;
    await r.update('k2', () => ({ next: { v: 2 }, result: undefined, expiresAt: 4000 }));
    expect(r.size).toBe(1);
  });
});
