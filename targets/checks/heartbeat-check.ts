import { z } from 'zod';
import { Duration } from '../../config/index.js';
import { defineCheckKind } from './check-kind.js';

/**
 * `heartbeat`: the target publishes `heartbeat.<name>` every `interval`; `misses` silent intervals
 * make an outage. Only Homeostat-aware programs (the demo workers) heartbeat, so only a target
 * that declares this check is heartbeat-watched. Its outages are published as
 * `events.heartbeat.missed` / `events.heartbeat.restored`.
 */
export const heartbeatCheck = defineCheckKind({
  kind: 'heartbeat',
  instant: true,
  schema: z
    .object({
      kind: z.literal('heartbeat'),
      name: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional().describe('Unique per target; defaults to the kind.'),
      interval: Duration.refine((v) => v >= 10 && Number.isInteger(v), 'interval must be a whole number of ms, at least 10ms').default(100).describe('The interval the target beats at (default 100ms).'),
      misses: z.number().int().min(1).max(100).default(3).describe('Missed intervals that make an outage (default 3).'),
      startGrace: Duration.default(5000).describe('After every (re)start, the target has this long to send its first beat (default 5s).'),
    })
    .strict(),
  plan: (c) => ({
    // during an outage silence is judged often (a quarter of the beat interval, 5–25 ms); while beats
    // arrive, the next look is when the last beat could first go stale (nextAttemptMs)
    everyMs: Math.max(5, Math.min(25, c.interval / 4)),
    timeoutMs: 1000,
    failures: 1,
    successes: 1,
    startGraceMs: c.startGrace,
  }),
  nextAttemptMs(c, last, ctx) {
    const tick = Math.max(5, Math.min(25, c.interval / 4));
    const age = ctx.heartbeatAgeMs();
    if (!last.ok || age === null) return tick;
    // one look just after the limit: detection stays within a tick of the outage's start
    return Math.max(tick, c.misses * c.interval - age + 1);
  },
  async probe(c, ctx) {
    const age = ctx.heartbeatAgeMs();
    const limit = c.misses * c.interval;
    if (age === null) return { ok: false, reason: 'no heartbeat seen yet' };
    if (age > limit) return { ok: false, reason: `no heartbeat for ${Math.round(age)} ms (${Math.floor(age / c.interval)} missed intervals)` };
    return { ok: true, reason: `last beat ${Math.round(age)} ms ago` };
  },
});
export type HeartbeatCheck = z.infer<typeof heartbeatCheck.schema>;
