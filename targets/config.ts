import { z } from 'zod';
import { Duration, loadYamlFile } from '../config/index.js';

const Name = z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use letters, digits, "_" or "-"');

const Common = {
  name: Name,
  /** Heartbeat interval and how many missed intervals make an outage. */
  heartbeat: z
    .object({ interval: Duration.default(100), misses: z.number().int().min(1).max(100).default(3) })
    .strict()
    .default({ interval: 100, misses: 3 }),
  /** A critical target is never throttled; a protected one is never killed. */
  critical: z.boolean().default(false),
  protected: z.boolean().default(false),
};

export const ProcessTargetSchema = z
  .object({
    ...Common,
    driver: z.literal('process'),
    /** A program of Homeostat's own (`demo-worker`), or `command` + `args`. */
    builtin: z.enum(['demo-worker']).optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** TCP port for the demo worker's HTTP server; `auto` picks a free one. */
    port: z.union([z.number().int().min(1).max(65535), z.literal('auto')]).default('auto'),
    /** Health URL; for the demo worker it defaults to http://127.0.0.1:<port>/health. */
    health: z.object({ url: z.string().url() }).strict().optional(),
    /** Grace period between SIGTERM and SIGKILL on stop. */
    stopGrace: Duration.default(2000),
  })
  .strict()
  .refine((t) => Boolean(t.builtin) !== Boolean(t.command), {
    message: 'give exactly one of `builtin` or `command`',
    path: ['command'],
  });

export const TargetSchema = z.discriminatedUnion('driver', [ProcessTargetSchema]);

export const TargetsFileSchema = z
  .object({ targets: z.array(TargetSchema).min(1) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.targets.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
      seen.add(t.name);
    });
  });

export type TargetConfig = z.infer<typeof TargetSchema>;
export type ProcessTargetConfig = z.infer<typeof ProcessTargetSchema>;

/** Loads `targets.yaml`; an unknown or missing field is refused with file, line and field. */
export function loadTargets(file: string): TargetConfig[] {
  return loadYamlFile(file, TargetsFileSchema).targets;
}
