import { existsSync } from 'node:fs';
import { z } from 'zod';
import { Duration, loadYamlFile } from '../config/index.js';

const Severity = z.enum(['info', 'warning', 'critical']);
export type NotifySeverity = z.infer<typeof Severity>;

const Common = {
  /** A name for logs and counters (never the URL: it is a secret for Slack). */
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'sink names use letters, digits, "_" or "-"'),
  /** Severities this sink gets (default: all). */
  severities: z.array(Severity).min(1).default(['info', 'warning', 'critical']),
  /**
   * Event families this sink gets (`heartbeat`, `redis`, `alert`…; default: all). A notification that
   * names no family (a playbook's notify.send) goes to every sink its severity matches.
   */
  families: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a family is one subject token, e.g. redis')).min(1).optional(),
};
const Delivery = {
  url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL'),
  /** Notifications waiting at most; a full queue drops the new one (counted). */
  queue: z.number().int().min(1).max(100_000).default(1000),
  /** Attempts after the first for a 429, a 5xx, a timeout or a refused connection. */
  retries: z.number().int().min(0).max(20).default(5),
  /** First wait between attempts (doubled each time, at most `maxBackoff`); a 429's Retry-After wins. */
  backoff: Duration.default(500),
  maxBackoff: Duration.default(30_000),
  /** One attempt is abandoned after this long (a hanging sink). */
  timeout: Duration.default(5000),
};

export const SinkConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('slack'), ...Common, ...Delivery }).strict(),
  z.object({ kind: z.literal('webhook'), ...Common, ...Delivery, headers: z.record(z.string(), z.string()).default({}) }).strict(),
  z.object({ kind: z.literal('log'), ...Common }).strict(),
]);
export type SinkConfig = z.infer<typeof SinkConfig>;

const Stage = z.union([Severity, z.literal('off')]);
/**
 * Lifecycle notifications per incident (one run of a playbook), as in the AegisOps notes: each stage
 * sends at the severity given, or not at all with `off`.
 */
export const LifecycleConfig = z
  .object({
    /** The run started on an event: what was received, on which target, which playbook takes it. */
    received: Stage.default('info'),
    /** The run's first diagnostic step (a probe, e.g. acl.assess, process.top) finished. */
    diagnosing: Stage.default('info'),
    /** The run's first remediation step (an action that changes something) finished. */
    executing: Stage.default('info'),
    /** The run resolved: steps with their status and MTTR (the event → resolved). */
    resolved: Stage.default('info'),
    /** The run failed or stopped: why, and the steps. */
    failed: Stage.default('critical'),
  })
  .strict();
export type LifecycleConfig = z.infer<typeof LifecycleConfig>;
export const LIFECYCLE_STAGES = ['received', 'diagnosing', 'executing', 'resolved', 'failed'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const NotifyConfig = z
  .object({
    sinks: z.array(SinkConfig).default([{ kind: 'log', name: 'log', severities: ['info', 'warning', 'critical'] }]),
    lifecycle: LifecycleConfig.default({ received: 'info', diagnosing: 'info', executing: 'info', resolved: 'info', failed: 'critical' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.sinks.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink name "${s.name}"` });
      seen.add(s.name);
    });
  });
export type NotifyConfig = z.infer<typeof NotifyConfig>;

/**
 * Loads the notification sinks file once (`HOMEOSTAT_NOTIFY`, default handlers/notify.yaml); bad
 * input is refused with file:line:col. A missing file means the log sink alone.
 */
export function loadNotifyConfig(file: string): NotifyConfig {
  if (!existsSync(file)) return NotifyConfig.parse({});
  return loadYamlFile(file, NotifyConfig);
}
