import { z } from 'zod';
import { isValidSubjectPattern } from '../bus/index.js';
import { Duration, loadYamlFile } from '../config/index.js';

const Rule = z.object({ count: z.number().int().positive(), window: Duration }).strict();

/**
 * The ACL monitor's thresholds (monitors/acl-monitor.yaml). Defaults are those of the chaos
 * safeguards reference: spam ≥ 10 violations within 1 s from one actor; actor threshold ≥ 20
 * within the window; control-subject flood ≥ 5 on `actions.>`, `approvals.>`, `chaos.>`, `runs.>`.
 */
export const AclMonitorConfigSchema = z
  .object({
    spam: Rule.default({ count: 10, window: 1000 }),
    actorThreshold: Rule.default({ count: 20, window: 60_000 }),
    controlFlood: Rule.extend({
      subjects: z.array(z.string().refine(isValidSubjectPattern, 'not a valid NATS subject pattern')).min(1),
    })
      .strict()
      .default({ count: 5, window: 10_000, subjects: ['actions.>', 'approvals.>', 'chaos.>', 'runs.>'] }),
    /** An episode ends once its rule has not held for this long; only then can the rule fire again. */
    episodeGap: Duration.default(1000),
    /** Actors tracked at once; the least recently seen without an open episode is forgotten first. */
    maxActors: z.number().int().positive().default(10_000),
  })
  .strict();
export type AclMonitorConfig = z.infer<typeof AclMonitorConfigSchema>;

/** The defaults, or the file's values over them; a bad file is refused with file:line:col: field. */
export function loadAclMonitorConfig(file?: string): AclMonitorConfig {
  return file ? loadYamlFile(file, AclMonitorConfigSchema) : AclMonitorConfigSchema.parse({});
}
