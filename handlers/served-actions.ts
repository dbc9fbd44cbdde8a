import { subjects, type BusClient } from '../bus/index.js';
import { ServedActionsData } from './action-server.js';

export interface ServedActionsOptions {
  /** Give up waiting for more answers after this long (default 3 s). */
  maxWaitMs?: number;
  /** Stop once no further answer came for this long after the first (default 300 ms). */
  stallMs?: number;
}

/**
 * Asks every running action server, on `actions.served`, which actions it serves; resolves with
 * their union and the components that answered (none when no handler is running).
 */
export async function servedActions(bus: BusClient, opts: ServedActionsOptions = {}): Promise<{ actions: string[]; components: string[] }> {
  const replies = await bus.gather(subjects.actionsServed, 'actions.served.query', {}, ServedActionsData, { maxWaitMs: opts.maxWaitMs ?? 3000, stallMs: opts.stallMs ?? 300 });
  return {
    actions: [...new Set(replies.flatMap((r) => r.data.actions))].sort(),
    components: replies.map((r) => r.data.component),
  };
}
