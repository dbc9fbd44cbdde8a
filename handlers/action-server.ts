import type { Logger } from 'pino';
import { ActionRequestData, describeZodError, subjects, type ActionResultData, type BusClient, type Envelope } from '../bus/index.js';
import type { ActionHandler } from './action.js';
import { HandlerError, InvalidParamsError, UnknownActionError } from './errors.js';

const MAX_OUTPUT = 16_384;
const bound = (s: string | undefined) => (s === undefined ? undefined : s.length > MAX_OUTPUT ? s.slice(-MAX_OUTPUT) : s);

/**
 * Subscribes to `actions.>` and dispatches each request to its handler: validate, run, catch,
 * log and always answer on `results.<actionId>` with status, duration and any error.
 */
export class ActionServer {
  readonly #handlers = new Map<string, ActionHandler>();

  constructor(
    private readonly bus: BusClient,
    private readonly log: Logger,
  ) {}

  /** Registers handlers; a duplicate name fails at start-up. */
  register(...handlers: ActionHandler[]): this {
    for (const h of handlers) {
      if (this.#handlers.has(h.name)) throw new HandlerError('HANDLER_DUPLICATE', `action "${h.name}" is registered twice`);
      this.#handlers.set(h.name, h);
    }
    return this;
  }

  get actions(): string[] {
    return [...this.#handlers.keys()];
  }

  start(): void {
    this.bus.subscribe('actions.>', ActionRequestData, (env) => this.#handle(env), { queue: 'handlers' });
  }

  async #handle(env: Envelope<ActionRequestData>): Promise<void> {
    const req = env.data;
    const started = performance.now();
    const log = this.log.child({ actionId: req.actionId, runId: req.runId, target: req.target, action: req.action });
    const answer = (r: Omit<ActionResultData, 'actionId' | 'action' | 'durationMs'>) => {
      const res: ActionResultData = { actionId: req.actionId, action: req.action, durationMs: Math.round((performance.now() - started) * 10) / 10, ...r };
      this.bus.publish(subjects.result(req.actionId), 'action.result', res, { target: req.target });
      log[res.status === 'ok' ? 'info' : 'warn']({ status: res.status, durationMs: res.durationMs, error: res.error?.message }, 'action done');
    };
    try {
      const handler = this.#handlers.get(req.action);
      if (!handler || env.subject !== `actions.${req.action}`) throw new UnknownActionError(req.action, this.actions);
      const params = handler.params.safeParse({ ...req.params, ...(req.target ? { target: req.target } : {}) });
      if (!params.success) throw new InvalidParamsError(req.action, describeZodError(params.error));
      const out = await handler.run(params.data, { actionId: req.actionId, runId: req.runId, log, timeoutMs: req.timeoutMs });
      answer({ status: 'ok', result: out.result ?? {}, exitCode: out.exitCode, stdout: bound(out.stdout), stderr: bound(out.stderr) });
    } catch (e) {
      const err = e as Error & { code?: string; refused?: boolean };
      answer({
        status: err.refused ? 'refused' : 'failed',
        result: {},
        error: { code: err.code ?? 'HANDLER_FAILED', message: err.message },
      });
    }
  }
}
