import type { Logger } from 'pino';
import { z } from 'zod';
import { declareAction, defineAction } from './action.js';

/** `notify.send`'s declaration (see the action registry). Not idempotent: each call notifies again (the engine's idempotency keys dedupe redeliveries). */
export const notifySendSpec = declareAction({
  name: 'notify.send',
  description: 'Send a notification (log sink, plus webhook if configured).',
  params: z
    .object({
      message: z.string().min(1),
      severity: z.enum(['info', 'warning', 'critical']).default('info'),
      target: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  returns: '`{ delivered, webhookStatus }`: the log sink, plus `HOMEOSTAT_WEBHOOK_URL` when set',
  risk: 'low',
  idempotent: false,
  probe: false,
});

/** `notify.send`: writes the notification to the log sink, and POSTs it to a webhook when one is configured. */
export function notifySend(log: Logger, webhookUrl?: string) {
  return defineAction({
    ...notifySendSpec,
    async run(p) {
      log.warn({ notification: p }, `NOTIFY [${p.severity}] ${p.message}`);
      let webhookStatus: number | null = null;
      if (webhookUrl) {
        const res = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(p),
          signal: AbortSignal.timeout(5000),
        });
        webhookStatus = res.status;
        await res.body?.cancel();
        if (!res.ok) throw new Error(`webhook answered ${res.status}`);
      }
      return { result: { delivered: true, webhookStatus } };
    },
  });
}
