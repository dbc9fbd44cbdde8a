import { z } from 'zod';
import { Duration } from '../config/index.js';
import { isValidSubjectPattern } from '../bus/index.js';

/**
 * The playbook file format. Every field is documented in README.md (Playbooks); the JSON Schema
 * `playbooks/schema.json` is generated from this file (`homeostat playbooks schema`).
 */

const Params = z.record(z.string(), z.unknown()).describe('Parameters; string values may hold {{ path }} templates (values only).');
const StepId = z
  .string()
  .regex(/^[A-Za-z_][\w-]*$/, 'step ids use letters, digits, "_" or "-", starting with a letter')
  .describe('Step id, unique in the playbook; later steps read its outputs as steps.<id>.result.');
/** How an action name is written; `playbooks/schema.json` replaces it by the registry's enum. */
export const ACTION_NAME_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ActionName = z
  .string()
  .regex(ACTION_NAME_PATTERN, 'an action is written <handler>.<verb>, e.g. process.restart')
  .describe('<handler>.<verb> of an action a handler provides.');
const Expression = z.string().min(1).describe('A CEL expression (Common Expression Language).');
const Timeout = Duration.default(10_000).describe('How long to wait for one result, e.g. 10s.');

export const VerifySchema = z
  .object({
    probe: ActionName.describe('The probe action to call, e.g. target.health.'),
    with: Params.default({}),
    expect: Expression.describe('CEL over result (the probe result), event and steps; must become true.'),
    within: Duration.default(10_000).describe('Deadline for the expectation to hold.'),
    interval: Duration.default(250).describe('First polling interval.'),
    backoff: z.number().min(1).max(10).default(1.5).describe('The interval is multiplied by this after each poll.'),
  })
  .strict()
  .describe('Poll a probe until its result satisfies expect, or fail at the deadline.');

export const RetrySchema = z
  .object({
    attempts: z.number().int().min(1).max(20).default(3).describe('Attempts in all, the first included.'),
    interval: Duration.default(1000).describe('Wait before the second attempt.'),
    backoff: z.number().min(1).max(10).default(1.5).describe('The wait is multiplied by this after each attempt.'),
  })
  .strict()
  .describe('Retry a failed or timed-out action (a refused one is never retried).');

export const UndoSchema = z
  .object({
    action: ActionName,
    with: Params.default({}),
    timeout: Timeout,
  })
  .strict()
  .describe('The action that reverses this step; run in reverse order when the run does not resolve.');

export const Risk = z.enum(['low', 'medium', 'high']).describe("Default: the action's declared risk. high makes approval required unless approval: none is given.");
export type Risk = z.infer<typeof Risk>;
export const Approval = z.enum(['required', 'none']).describe('required: wait for an operator on approvals.<runId> first.');

/** The fields every step kind shares (main steps and on_failure steps). */
const commonStep = {
  when: Expression.optional().describe('CEL over event and steps; the step is skipped when false.'),
  action: ActionName.optional(),
  with: Params.default({}),
  verify: VerifySchema.optional(),
  stop: z.string().min(1).optional().describe('End the run as stopped with this reason (templated) and notify.'),
  timeout: Timeout,
  retry: RetrySchema.optional(),
};

function checkStepKind(
  s: { action?: string; verify?: unknown; stop?: string; diagnose?: unknown; retry?: unknown; with: Record<string, unknown> } & Record<string, unknown>,
  ctx: z.RefinementCtx,
): void {
  const kinds = [s.action, s.verify, s.stop, s.diagnose].filter((k) => k !== undefined).length;
  if (kinds !== 1) ctx.addIssue({ code: 'custom', path: ['action'], message: 'a step has exactly one of `action`, `verify`, `stop` or `diagnose`' });
  if (!s.action) {
    for (const f of ['retry', 'undo', 'approval', 'risk'] as const) {
      if (s[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: `\`${f}\` applies to an \`action\` step only` });
    }
    if (Object.keys(s.with).length) ctx.addIssue({ code: 'custom', path: ['with'], message: '`with` applies to an `action` step only (a verify step has verify.with)' });
  }
}

/** A step in an `on_failure` list: action, verify or stop; its id is optional. */
export const FailureStepSchema = z
  .object({ id: StepId.optional(), ...commonStep })
  .strict()
  .superRefine(checkStepKind)
  .describe('A step run when something failed: action, verify or stop.');

const PlaybookName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'playbook names are lower-case letters, digits, "_" or "-"');

export const DiagnoseSchema = z
  .object({
    playbooks: z.array(PlaybookName).min(1).describe('The allow-list: the only playbooks the model may choose (names of loaded playbooks, not this one).'),
  })
  .strict()
  .describe(
    'Ask the LLM providers (HOMEOSTAT_LLM_*) for a root cause and one playbook of the allow-list, or none. The engine then starts the chosen playbook on the same event, after approval unless that playbook\'s `llm` rule allows it; skipped when no provider is configured.',
  );

export const StepSchema = z
  .object({
    id: StepId,
    description: z.string().optional(),
    ...commonStep,
    risk: Risk.optional(),
    approval: Approval.optional(),
    approval_timeout: Duration.default(300_000).describe('Waiting longer for an operator counts as a rejection.'),
    undo: UndoSchema.optional(),
    diagnose: DiagnoseSchema.optional(),
    on_failure: z.array(FailureStepSchema).optional().describe('Steps run when this step fails; the run then fails (or stops, if they stop).'),
  })
  .strict()
  .superRefine(checkStepKind)
  .describe('One step: exactly one of action, verify or stop.');

export const TriggerSchema = z
  .object({
    event: z.string().refine(isValidSubjectPattern, 'not a valid NATS subject pattern').describe('Event subject pattern; NATS wildcards * and > allowed.'),
    targets: z.array(z.string()).optional().describe('Only events for these targets (all when omitted).'),
    when: Expression.optional().describe('CEL condition over event.'),
    dedupe: z
      .object({
        key: z.string().min(1).default('{{ event.target }}').describe('Template over event; events with the same key are one incident.'),
        window: Duration.describe('Further events with the same key within this window of the first are dropped.'),
      })
      .strict()
      .optional(),
    cooldown: Duration.optional().describe('After a run of this playbook ends on a target, ignore its events for this long.'),
  })
  .strict()
  .describe('When the playbook fires.');

export const BudgetSchema = z
  .object({
    runs: z.number().int().min(1).describe('At most this many runs per target …'),
    per: Duration.describe('… within this sliding window.'),
  })
  .strict()
  .describe('Flap budget: beyond it publish events.playbook.budget_exhausted, notify, and refuse runs until the window passes or an operator resets it.');

export const BackoffSchema = z
  .object({
    initial: Duration.default(10_000).describe('Wait before the second run in a row on a target (the first runs at once).'),
    factor: z.number().min(1).max(10).default(2).describe('Each further run in a row waits this many times longer.'),
    max: Duration.default(300_000).describe('The wait never exceeds this.'),
    reset: Duration.default(600_000).describe('A run that starts this long after the previous one ended on the target is first in a row again (runs at once).'),
  })
  .strict()
  .describe('Restart back-off (like Kubernetes CrashLoopBackOff): runs in a row on one target wait initial, initial×factor, … up to max; an event attached to a run that did not resolve is tried again through the trigger (back-off, budget) when it ends.');

export const LlmRuleSchema = z
  .object({
    auto: z.boolean().default(false).describe('true: when an LLM diagnosis chooses this playbook with enough confidence, it runs without the approval of the choice (its own gated steps still wait).'),
    min_confidence: z.number().min(0).max(1).default(0.8).describe('The confidence floor for auto; below it the choice waits for approval.'),
    signatures: z
      .array(z.string().refine(isValidSubjectPattern, 'not a valid NATS subject pattern'))
      .optional()
      .describe('Event subjects (patterns) auto applies to; default: on.event.'),
    approval_timeout: Duration.default(300_000).describe('How long a choice waits for an operator; longer counts as a rejection.'),
  })
  .strict()
  .describe('Operator rule for runs chosen by an LLM diagnosis. Without it, a chosen run always waits for approval first.');

export const PlaybookSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of schema.json, for editors.'),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'playbook names are lower-case letters, digits, "_" or "-"').describe('Unique name of the playbook.'),
    description: z.string().default(''),
    priority: z.number().int().default(0).describe('Higher wins when several playbooks match one event.'),
    on: TriggerSchema,
    budget: BudgetSchema.optional(),
    backoff: BackoffSchema.optional(),
    llm: LlmRuleSchema.optional(),
    rollback: z.boolean().default(true).describe('Run the undo of completed steps, newest first, when the run does not resolve.'),
    steps: z.array(StepSchema).min(1),
    on_failure: z.array(FailureStepSchema).default([]).describe('Steps run after a failed run (after rollback).'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.steps.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
      if (s.diagnose?.playbooks.includes(p.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'diagnose', 'playbooks'], message: 'a playbook cannot choose itself' });
    });
  })
  .describe('A Homeostat playbook: when it fires, what it does, how success is checked, what happens when it fails.');

export type Playbook = z.infer<typeof PlaybookSchema>;
export type Step = z.infer<typeof StepSchema>;
export type FailureStep = z.infer<typeof FailureStepSchema>;
/** Any step the executor runs: a main step or an on_failure step (with its id filled in). */
export type AnyStep = Step | (FailureStep & { id: string });
