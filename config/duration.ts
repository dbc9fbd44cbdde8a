import ms from 'ms';
import { z } from 'zod';

/** A duration written as "250ms", "10s", "5m" or a number of milliseconds; parsed once to ms. */
export const Duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const out = ms(v as ms.StringValue);
  if (typeof out !== 'number' || !Number.isFinite(out) || out < 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (use e.g. 250ms, 10s, 5m)` });
    return z.NEVER;
  }
  return out;
});
