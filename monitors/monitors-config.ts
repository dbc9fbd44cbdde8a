import { z } from 'zod';
import { Duration, loadYamlFile } from '../config/index.js';

const Percent = z
  .number({ message: 'must be a percentage (a number from 0 to 100)' })
  .refine((v) => v >= 0 && v <= 100, { message: 'must be a percentage from 0 to 100' });

/** A duration that must not be negative ("-5s" is refused with that reason). */
const Window = z.union([z.number(), z.string()]).superRefine((v, ctx) => {
  if ((typeof v === 'number' && v < 0) || (typeof v === 'string' && v.trim().startsWith('-'))) {
    ctx.addIssue({ code: 'custom', message: 'a window must not be negative' });
  }
}).pipe(Duration);

function shape(defaults: { threshold: number; window: number; recovery: number }) {
  return {
    enabled: z.boolean().default(true),
    /** Above this (%) for `window` is pressure. */
    threshold: Percent.default(defaults.threshold),
    window: Window.default(defaults.window),
    /** Under this (%) the episode is over (`events.resource.recovered`). */
    recovery: Percent.default(defaults.recovery),
  };
}

function recoveryNotAbove(t: { threshold: number; recovery: number }, ctx: z.RefinementCtx): void {
  if (t.recovery > t.threshold) {
    ctx.addIssue({ code: 'custom', path: ['recovery'], message: `recovery (${t.recovery}) must not be above threshold (${t.threshold})` });
  }
}

const CPU = { threshold: 80, window: 10_000, recovery: 60 };
const MEMORY = { threshold: 85, window: 10_000, recovery: 80 };
const DISK = { threshold: 90, window: 10_000, recovery: 85 };

export const ResourceMonitorConfigSchema = z
  .object({
    /** How often CPU, memory and disk are sampled. */
    interval: Duration.refine((v) => v >= 100, { message: 'the sampling interval must be at least 100ms' }).default(1000),
    /** Processes listed in a pressure event. */
    top: z.number().int().min(1).max(50).default(5),
    cpu: z
      .object({
        ...shape(CPU),
        /** A pressure event names a target only if its hottest process uses at least this (% of one core). */
        attributeMinPct: z.number().min(0).default(10),
      })
      .strict()
      .superRefine(recoveryNotAbove)
      .default({ enabled: true, ...CPU, attributeMinPct: 10 }),
    memory: z.object(shape(MEMORY)).strict().superRefine(recoveryNotAbove).default({ enabled: true, ...MEMORY }),
    disk: z
      .object({
        ...shape(DISK),
        /** The mount points to watch; each is its own episode. */
        paths: z.array(z.string().min(1)).min(1).default(['/']),
      })
      .strict()
      .superRefine(recoveryNotAbove)
      .default({ enabled: true, ...DISK, paths: ['/'] }),
  })
  .strict();

export const MonitorsFileSchema = z
  .object({ resource: ResourceMonitorConfigSchema.default(ResourceMonitorConfigSchema.parse({})) })
  .strict();

export type ResourceMonitorConfig = z.infer<typeof ResourceMonitorConfigSchema>;
export type MonitorsConfig = z.infer<typeof MonitorsFileSchema>;

/**
 * Loads the monitors file (`monitors/monitors.yaml`). A threshold outside 0–100 %, a negative
 * window or an unknown key is refused as `file:line:col: field: message`.
 */
export function loadMonitorsConfig(file: string): MonitorsConfig {
  return loadYamlFile(file, MonitorsFileSchema);
}
