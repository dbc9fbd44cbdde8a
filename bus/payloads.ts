import { z } from 'zod';

/** Payload schemas, one per message type. The envelope's `data` is checked against these. */

export const HeartbeatData = z.object({
  seq: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
  pid: z.number().int().positive().optional(),
});
export type HeartbeatData = z.infer<typeof HeartbeatData>;

export const HeartbeatMissedData = z.object({
  target: z.string(),
  lastSeen: z.string().nullable(),
  missedIntervals: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
});
export type HeartbeatMissedData = z.infer<typeof HeartbeatMissedData>;

export const HeartbeatRestoredData = z.object({
  target: z.string(),
  outageMs: z.number().nonnegative(),
});
export type HeartbeatRestoredData = z.infer<typeof HeartbeatRestoredData>;

/** A request to a remediator on `actions.<handler>.<verb>`. */
export const ActionRequestData = z.object({
  actionId: z.string().min(1),
  runId: z.string().optional(),
  action: z.string(),
  target: z.string().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  timeoutMs: z.number().int().positive().optional(),
  /** Same key → same effect: a handler that already executed this key answers with the recorded result. */
  idempotencyKey: z.string().min(1).max(200).optional(),
});
export type ActionRequestData = z.infer<typeof ActionRequestData>;

export const ActionStatus = z.enum(['ok', 'failed', 'refused']);
export type ActionStatus = z.infer<typeof ActionStatus>;

/** The outcome of one action, published on `results.<actionId>`. */
export const ActionResultData = z.object({
  actionId: z.string(),
  action: z.string(),
  status: ActionStatus,
  durationMs: z.number().nonnegative(),
  result: z.record(z.string(), z.unknown()).default({}),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  exitCode: z.number().int().nullable().optional(),
  stdout: z.string().max(16_384).optional(),
  stderr: z.string().max(16_384).optional(),
  /** The command as an operator would read it (e.g. `redis-cli -h 127.0.0.1 -p 6379 FLUSHALL`); never a secret. */
  command: z.string().max(2000).optional(),
  /** The target's health % (0–100) just before and just after the action, when the handler measured it. */
  healthBefore: z.number().min(0).max(100).nullable().optional(),
  healthAfter: z.number().min(0).max(100).nullable().optional(),
  /** True when the handler answered from its idempotency record instead of acting again. */
  replayed: z.boolean().optional(),
});
export type ActionResultData = z.infer<typeof ActionResultData>;

export const ChaosHeartbeatPauseData = z
  .object({ target: z.string().min(1), seconds: z.number().positive().max(3600) })
  .strict();
export type ChaosHeartbeatPauseData = z.infer<typeof ChaosHeartbeatPauseData>;

export const DeadletterData = z.object({
  subject: z.string(),
  reason: z.string(),
  droppedBy: z.string(),
  raw: z.string(),
});
export type DeadletterData = z.infer<typeof DeadletterData>;

/** An operator's decision on `approvals.<runId>` (a bare JSON body is accepted). */
export const ApprovalData = z
  .object({
    decision: z.enum(['approve', 'reject']),
    reason: z.string().max(2000).optional(),
    by: z.string().max(200).optional(),
  })
  .strict();
export type ApprovalData = z.infer<typeof ApprovalData>;

/** An operator's request on `approvals.budget.reset` to lift a playbook's flap budget for a target. */
export const BudgetResetData = z
  .object({
    playbook: z.string().min(1),
    target: z.string().min(1),
    by: z.string().max(200).optional(),
  })
  .strict();
export type BudgetResetData = z.infer<typeof BudgetResetData>;

/** The engine's answer to an approval or budget reset sent as a NATS request. */
export const ControlReplyData = z.object({ accepted: z.boolean(), message: z.string() });
export type ControlReplyData = z.infer<typeof ControlReplyData>;

/** `events.playbook.budget_exhausted`: a playbook hit its flap budget on a target. */
export const BudgetExhaustedData = z.object({
  playbook: z.string(),
  target: z.string(),
  runs: z.number().int(),
  perMs: z.number(),
  until: z.string(),
});
export type BudgetExhaustedData = z.infer<typeof BudgetExhaustedData>;

/** `events.playbook.budget_reset`: an operator lifted a flap budget. */
export const BudgetResetDoneData = z.object({
  playbook: z.string(),
  target: z.string(),
  by: z.string().optional(),
  wasExhausted: z.boolean(),
});
export type BudgetResetDoneData = z.infer<typeof BudgetResetDoneData>;

/** `events.playbook.invalid`: a changed playbook file was refused; the previous version stays. */
export const PlaybookInvalidData = z.object({
  file: z.string(),
  problems: z.array(z.string()),
  kept: z.string().optional(),
});
export type PlaybookInvalidData = z.infer<typeof PlaybookInvalidData>;

/** `events.playbook.reloaded`: a changed playbook file was accepted (or its playbook withdrawn). */
export const PlaybookReloadedData = z.object({
  file: z.string(),
  playbook: z.string(),
  change: z.enum(['loaded', 'removed']),
});
export type PlaybookReloadedData = z.infer<typeof PlaybookReloadedData>;
/** How a permission violation was observed: nats-server's log, or the refused client itself. */
export const AclViolationSource = z.enum(['nats-log', 'self-report']);
export type AclViolationSource = z.infer<typeof AclViolationSource>;

/** One permission violation, published on `acl.violation`. */
export const AclViolationData = z.object({
  /** The NATS user the server refused (a role, an actor of the policy, or a name the policy does not know). */
  actor: z.string(),
  subject: z.string(),
  operation: z.enum(['publish', 'subscribe']),
  source: AclViolationSource,
  /** When the server logged it (log source) or the client learned of it (self-report), ISO 8601. */
  time: z.string(),
  /** nats-server's client id (`cid:N`), log source only. */
  clientId: z.number().int().nonnegative().optional(),
  /** The client's `version:lang:name` as the server logged it. */
  client: z.string().optional(),
  /** The client's address, `ip:port`. */
  address: z.string().optional(),
  /** The account, when the server logged it (newer nats-server). */
  account: z.string().optional(),
  queue: z.string().optional(),
  /** The Homeostat component that self-reported. */
  component: z.string().optional(),
});
export type AclViolationData = z.infer<typeof AclViolationData>;

/** The ACL monitor's rules; each publishes `events.acl.<rule>` once per episode. */
export const AclRule = z.enum(['spam', 'actor_threshold', 'control_flood']);
export type AclRule = z.infer<typeof AclRule>;

/** `events.acl.spam`, `events.acl.actor_threshold`, `events.acl.control_flood` (envelope target = actor). */
export const AclEventData = z.object({
  actor: z.string(),
  rule: AclRule,
  /** `role` (a Homeostat role), `actor` (a named actor of the policy) or `unknown` (not in the policy). */
  kind: z.enum(['role', 'actor', 'unknown']),
  /** Violations that crossed the threshold, within `windowMs`. */
  count: z.number().int().nonnegative(),
  threshold: z.number().int().positive(),
  windowMs: z.number().nonnegative(),
  /** Violations from this actor since the monitor started (all rules). */
  total: z.number().int().nonnegative(),
  /** The most frequent subjects of this actor's recent violations (at most 5). */
  subjects: z.array(z.string()),
  firstAt: z.string(),
  lastAt: z.string(),
});
export type AclEventData = z.infer<typeof AclEventData>;

/** `chaos.acl_spam`: connect as `actor` and publish `rate` messages per second on a denied `subject`. */
export const ChaosAclSpamData = z
  .object({
    actor: z.string().regex(/^[A-Za-z0-9_-]+$/, 'an actor name of the ACL policy'),
    rate: z.number().positive().max(50_000).default(100),
    seconds: z.number().positive().max(3600).default(30),
    subject: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a literal subject (no wildcards)')
      .default('actions.process.restart'),
  })
  .strict();
export type ChaosAclSpamData = z.infer<typeof ChaosAclSpamData>;
/** `events.store.degraded`: the store stopped answering; records are kept in memory meanwhile. */
export const StoreDegradedData = z.object({
  store: z.enum(['pg', 'embedded']),
  location: z.string(),
  error: z.string(),
  queued: z.number().int().nonnegative(),
  since: z.string(),
});
export type StoreDegradedData = z.infer<typeof StoreDegradedData>;

/** `events.store.recovered`: the store answers again; the kept records are being written. */
export const StoreRecoveredData = z.object({
  store: z.enum(['pg', 'embedded']),
  location: z.string(),
  downMs: z.number().nonnegative(),
  backlog: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
});
export type StoreRecoveredData = z.infer<typeof StoreRecoveredData>;
