import type { Logger } from 'pino';
import type { z } from 'zod';

export interface ActionContext {
  actionId: string;
  runId?: string;
  log: Logger;
  /** How long the caller waits for the result (from the request), when it said. */
  timeoutMs?: number;
}

/** What a handler returns; thrown errors become `failed` (or `refused`) results. */
export interface ActionOutcome {
  result?: Record<string, unknown>;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  /** The command as an operator would read it; default `<action> <params as JSON>`. Never a secret. */
  command?: string;
  /** The target's health % (0–100) just before and just after, when the handler measured it. */
  healthBefore?: number | null;
  healthAfter?: number | null;
}

/** How dangerous an action is when a step does not say: `high` makes approval required. */
export type ActionRisk = 'low' | 'medium' | 'high';

/**
 * What is declared once about an action, without its dependencies: the registry
 * ({@link ACTION_REGISTRY}) lists these, and the playbook loader, `playbooks/schema.json` and the
 * README's action table are derived from it.
 */
export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  /** `<family>.<verb>`, e.g. `process.restart`. */
  name: string;
  description: string;
  params: S;
  /** What the result holds, for README's action table (e.g. `{ healthy, running, pid }`). */
  returns?: string;
  /** The risk of a step that does not say `risk` (`high` → approval required). */
  risk: ActionRisk;
  /** Running it twice with the same parameters leaves the same state as running it once. */
  idempotent: boolean;
  /**
   * A read-only probe: it changes nothing, so the engine calls it by core NATS request/reply on
   * `actions.<family>.<verb>.probe` instead of through the durable HOMEOSTAT_ACTIONS stream.
   */
  probe: boolean;
}

/** One remediator action, answered on `actions.<family>.<verb>` (and `….probe` for probes). */
export interface ActionHandler<S extends z.ZodType = z.ZodType> extends ActionSpec<S> {
  run(params: z.infer<S>, ctx: ActionContext): Promise<ActionOutcome>;
}

/** Declares an action's spec (name, params, description, risk, idempotent, probe) once, at module level. */
export function declareAction<S extends z.ZodType>(spec: ActionSpec<S>): ActionSpec<S> {
  return Object.freeze(spec);
}

/** An action's handler: its spec (spread from {@link declareAction}) and `run`. */
export function defineAction<S extends z.ZodType>(h: ActionHandler<S>): ActionHandler<S> {
  return h;
}
