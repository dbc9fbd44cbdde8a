import type { Logger } from 'pino';
import { ActionResultData, newId, subjects, type BusClient } from '../bus/index.js';

/** What the engine sends to the notify action; `target` is left out for target-less runs. */
export interface Notification {
  message: string;
  severity: 'info' | 'warning' | 'critical';
  target?: string;
  details?: Record<string, unknown>;
}

/**
 * Sends a notification through the notify action (`notify.send`) and waits for its result.
 * Never throws: an undelivered notification is logged and reported as false.
 */
export async function sendNotification(bus: BusClient, action: string, n: Notification, log: Logger, runId?: string): Promise<boolean> {
  const [family, verb] = action.split('.') as [string, string];
  const actionId = newId();
  const target = n.target === '_global' ? undefined : n.target;
  const params = { ...n, target };
  if (!target) delete params.target;
  try {
    const res = await bus.call(subjects.action(family, verb), actionId, { actionId, runId, action, target, params, timeoutMs: 5000 }, ActionResultData, 5000, { target });
    if (res.data.status === 'ok') return true;
    log.warn({ action, status: res.data.status, error: res.data.error }, 'notification not delivered');
  } catch (e) {
    log.warn({ action, err: (e as Error).message }, 'notification not delivered');
  }
  return false;
}
