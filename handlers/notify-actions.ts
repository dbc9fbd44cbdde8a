import type { Logger } from 'pino';
import { z } from 'zod';
import { declareAction, defineAction } from './action.js';
import type { NotifyRouter } from './notify-router.js';

/** `notify.send`'s declaration (see the action registry). Not idempotent: each call notifies again (the engine's idempotency keys dedupe redeliveries). */
export const notifySendSpec = declareAction({
  name: 'notify.send',
  description: 'Send a notification to the sinks of notify.yaml (Slack, webhook, log) routed by severity; answers once queued, never waits on a sink.',
  params: z
    .object({
      message: z.string().min(1),
      severity: z.enum(['info', 'warning', 'critical']).default('info'),
      target: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  returns: '`{ delivered, queued, dropped }`: the sinks it was queued on (log sinks write at once) and those whose queue was full',
  risk: 'low',
  idempotent: false,
  probe: false,
});

/**
 * `notify.send`. With a {@link NotifyRouter} (the stack): routes to the sinks and answers once queued,
 * so no sink can delay or fail a run. With a bare URL (drills, benchmarks): logs and POSTs it inline.
 */
export function notifySend(log: Logger, sinks?: string | NotifyRouter) {
  if (sinks && typeof sinks !== 'string') {
    const router = sinks;
    return defineAction({
      ...notifySendSpec,
      async run(p) {
        const { queued, dropped } = router.send(p);
        return { result: { delivered: queued.length > 0, queued, dropped } };
      },
    });
  }
  const webhookUrl = sinks;
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
