import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { defineCheckKind, pollFields, pollPlan } from './check-kind.js';

const MAX_BODY_BYTES = 64 * 1024;

const StatusRange = z
  .union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/, 'a status such as 200 or a range such as "200-399"')])
  .default('200-399')
  .describe('Expected status: a number, or a range such as "200-399" (default).');

/**
 * `http`: GET `url` (or `path` on the target's own port); passes when the status is in range and,
 * with `body`, the first 64 KiB of the body contain that text.
 */
export const httpCheck = defineCheckKind({
  kind: 'http',
  schema: z
    .object({
      kind: z.literal('http'),
      ...pollFields(2000),
      url: z.url({ protocol: /^https?$/ }).optional().describe('The URL to GET. Give `url` or `path`.'),
      path: z.string().startsWith('/').optional().describe('A path on http://127.0.0.1:<the target\'s port>, e.g. /health (the demo worker\'s port is chosen at start).'),
      status: StatusRange,
      body: z.string().min(1).optional().describe('A substring the body must contain.'),
    })
    .strict()
    .refine((c) => Boolean(c.url) !== Boolean(c.path), { message: 'give exactly one of `url` or `path`', path: ['url'] }),
  plan: pollPlan,
  async probe(c, ctx) {
    const url = httpCheckUrl(c, ctx.port);
    if (!url) return { ok: false, reason: `path ${c.path} needs the target's port` };
    const [lo, hi] = statusBounds(c.status);
    const { status, body } = await get(url, ctx.signal, c.body ? MAX_BODY_BYTES : 0);
    if (status < lo || status > hi) return { ok: false, reason: `status ${status}, expected ${lo === hi ? lo : `${lo}-${hi}`}` };
    if (c.body && !body.includes(c.body)) return { ok: false, reason: `status ${status} but the body lacks ${JSON.stringify(c.body)}` };
    return { ok: true, reason: `status ${status}` };
  },
});
export type HttpCheck = z.infer<typeof httpCheck.schema>;

/** The URL an http check GETs: its `url`, or its `path` on 127.0.0.1:`port`. */
export function httpCheckUrl(c: { url?: string; path?: string }, port: number | undefined): string | undefined {
  if (c.url) return c.url;
  return port ? `http://127.0.0.1:${port}${c.path ?? '/'}` : undefined;
}

function statusBounds(s: number | string): [number, number] {
  if (typeof s === 'number') return [s, s];
  const [a, b] = s.split('-').map(Number);
  return [a!, b ?? a!];
}

/**
 * One GET with node:http (a tenth of fetch's CPU per request, which matters at 20 checks a
 * second): the status, and up to `maxBody` bytes of the body.
 */
function get(url: string, signal: AbortSignal, maxBody: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'GET', signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const finish = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      };
      if (maxBody === 0) return finish();
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.byteLength;
        if (bytes >= maxBody) finish();
      });
      res.once('end', finish);
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}
