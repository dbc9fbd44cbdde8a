import { z } from 'zod';
import { Duration } from '../config/index.js';
import { isValidSubjectPattern } from '../bus/index.js';

const Params = z.record(z.string(), z.unknown());
const StepId = z.string().regex(/^[A-Za-z_][\w-]*$/, 'step ids use letters, digits, "_" or "-", starting with a letter');

export const VerifySchema = z
  .object({
    /** The probe action to call, e.g. `target.health`. */
    probe: z.string().min(1),
    with: Params.default({}),
    /** CEL expression over `result` (the probe's result), `event` and `steps`. */
    expect: z.string().min(1),
    /** Deadline for the expectation to hold. */
    within: Duration.default(10_000),
    /** First polling interval; multiplied by `backoff` after each attempt. */
    interval: Duration.default(250),
    backoff: z.number().min(1).max(10).default(1.5),
  })
  .strict();

export const StepSchema = z
  .object({
    id: StepId,
    /** `<handler>.<verb>` of a remediator, e.g. `process.restart`. */
    action: z.string().min(1).optional(),
    with: Params.default({}),
    verify: VerifySchema.optional(),
    /** How long to wait for the action's result. */
    timeout: Duration.default(10_000),
  })
  .strict()
  .refine((s) => Boolean(s.action) !== Boolean(s.verify), { message: 'a step has exactly one of `action` or `verify`', path: ['action'] });

export const PlaybookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'playbook names are lower-case letters, digits, "_" or "-"'),
    description: z.string().default(''),
    /** Higher wins when several playbooks match one event. */
    priority: z.number().int().default(0),
    on: z
      .object({
        /** Event subject pattern; NATS wildcards `*` and `>` allowed. */
        event: z.string().refine(isValidSubjectPattern, 'not a valid NATS subject pattern'),
        /** Only these targets (all when omitted). */
        targets: z.array(z.string()).optional(),
        /** CEL condition over `event`. */
        when: z.string().optional(),
      })
      .strict(),
    steps: z.array(StepSchema).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.steps.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
    });
  });

export type Playbook = z.infer<typeof PlaybookSchema>;
export type Step = z.infer<typeof StepSchema>;
