import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Mode = 'ok' | '429' | '500' | 'hang' | '400';

/**
 * A local server speaking Slack's incoming-webhook protocol: `ok` (200, body "ok"), `429` with
 * Retry-After and body "rate_limited", `500`, `400 invalid_payload`, or a hang (never answers).
 * `script` is consumed one answer per request; the last one repeats.
 */
export async function fakeSlack(script: Mode[], retryAfter = '1') {
  const received: { at: number; body: unknown }[] = [];
  const hung: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push({ at: Date.now(), body: JSON.parse(raw) });
      const mode = script.length > 1 ? script.shift()! : script[0]!;
      if (mode === 'ok') res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
      else if (mode === '429') res.writeHead(429, { 'retry-after': retryAfter }).end('rate_limited');
      else if (mode === '500') res.writeHead(500).end('internal_error');
      else if (mode === '400') res.writeHead(400).end('invalid_payload');
      else hung.push(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  return {
    url,
    received,
    async close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

