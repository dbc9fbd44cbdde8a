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
}

/** One remediator action, answered on `actions.<family>.<verb>`. */
export interface ActionHandler<S extends z.ZodType = z.ZodType> {
  /** `<family>.<verb>`, e.g. `process.restart`. */
  name: string;
  description: string;
  params: S;
  run(params: z.infer<S>, ctx: ActionContext): Promise<ActionOutcome>;
}

export function defineAction<S extends z.ZodType>(h: ActionHandler<S>): ActionHandler<S> {
  return h;
}
