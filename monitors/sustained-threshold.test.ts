import { describe, expect, it } from 'vitest';
import { SustainedThreshold, type ThresholdChange } from './index.js';

/** Feeds one value per second (each sample covering the second before it) and records the changes. */
function drive(d: SustainedThreshold, values: number[], startAt = 0): (ThresholdChange & { at: number })[] {
  const out: (ThresholdChange & { at: number })[] = [];
  values.forEach((v, i) => {
    const at = startAt + (i + 1) * 1000;
    const c = d.update(at, 1000, v);
    if (c) out.push({ ...c, at });
  });
  return out;
}

describe('sustained-threshold detector (deterministic samples)', () => {
  const cpu = { threshold: 80, window: 10_000, recovery: 60 };

  it('fires once, on the sample that completes the 10 s window above 80 %', () => {
    const d = new SustainedThreshold(cpu);
    const changes = drive(d, [10, 10, ...Array<number>(15).fill(95)]);
    expect(changes).toHaveLength(1);
    // above from the start of the third interval (2 s); the tenth hot sample ends at 12 s
    expect(changes[0]).toMatchObject({ kind: 'pressure', at: 12_000, since: 2000, heldMs: 10_000, value: 95 });
    expect(d.active).toBe(true);
  });

  it('does not fire when the value dips under the threshold before the window is full', () => {
    const d = new SustainedThreshold(cpu);
    const changes = drive(d, [...Array<number>(9).fill(95), 79, ...Array<number>(9).fill(95)]);
    expect(changes).toEqual([]);
    expect(d.active).toBe(false);
  });

  it('a value exactly at the threshold is not above it', () => {
    const d = new SustainedThreshold(cpu);
    expect(drive(d, Array<number>(20).fill(80))).toEqual([]);
  });

  it('stays in one episode between the recovery and the pressure thresholds, and recovers under recovery', () => {
    const d = new SustainedThreshold(cpu);
    const changes = drive(d, [...Array<number>(10).fill(90), 70, 70, 90, 90, 59]);
    expect(changes.map((c) => c.kind)).toEqual(['pressure', 'recovered']);
    expect(changes[1]).toMatchObject({ kind: 'recovered', at: 15_000, episodeMs: 5000, value: 59 });
    expect(d.active).toBe(false);
  });

  it('a second episode after recovery fires again', () => {
    const d = new SustainedThreshold(cpu);
    const changes = drive(d, [...Array<number>(10).fill(90), 20, ...Array<number>(10).fill(90)]);
    expect(changes.map((c) => c.kind)).toEqual(['pressure', 'recovered', 'pressure']);
  });

  it('a zero window fires on the first sample above the threshold', () => {
    const d = new SustainedThreshold({ threshold: 50, window: 0, recovery: 50 });
    expect(drive(d, [10, 60])).toEqual([expect.objectContaining({ kind: 'pressure', at: 2000 })]);
  });
});
