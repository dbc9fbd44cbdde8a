import { connect } from 'node:net';
import { z } from 'zod';
import { defineCheckKind, pollFields, pollPlan } from './check-kind.js';

/** `tcp`: passes when a TCP connection to host:port is accepted within the timeout. */
export const tcpCheck = defineCheckKind({
  kind: 'tcp',
  schema: z
    .object({
      kind: z.literal('tcp'),
      ...pollFields(2000),
      host: z.string().min(1).default('127.0.0.1').describe('Host to connect to (default 127.0.0.1).'),
      port: z.number().int().min(1).max(65535).describe('Port to connect to.'),
    })
    .strict(),
  plan: pollPlan,
  probe: (c, ctx) =>
    new Promise((resolve) => {
      const sock = connect({ host: c.host, port: c.port });
      const done = (ok: boolean, reason: string) => {
        ctx.signal.removeEventListener('abort', onAbort);
        sock.destroy();
        resolve({ ok, reason });
      };
      const onAbort = () => done(false, `no connection within ${ctx.timeoutMs} ms`);
      ctx.signal.addEventListener('abort', onAbort);
      sock.once('connect', () => done(true, `connected to ${c.host}:${c.port}`));
      sock.once('error', (e) => done(false, `connect ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    }),
});
