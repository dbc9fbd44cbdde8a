import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the scripted provider received. */
export interface RecordedRequest {
  n: number;
  path: string;
  authorization: string | undefined;
  /** The raw request body, as it left the client. */
  body: string;
  json: { model?: string; messages?: { role: string; content: string }[]; response_format?: unknown } | null;
  /** When the response was sent (ms after the request arrived): the provider's own latency. */
  handledMs?: number;
}

/** How the scripted provider answers one request. */
export type ScriptedReply =
  | { content: string; delayMs?: number; refusal?: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | { hang: true };

/**
 * A local HTTP server that speaks OpenAI's chat-completions protocol (`POST /v1/chat/completions`,
 * the response and error bodies the API sends) with scripted answers: a fake of the paid service
 * for tests and benchmarks. Records every request.
 */
export class ScriptedProvider {
  readonly requests: RecordedRequest[] = [];
  #script: (req: RecordedRequest) => ScriptedReply;
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();

  private constructor(script: (req: RecordedRequest) => ScriptedReply) {
    this.#script = script;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(script: (req: RecordedRequest) => ScriptedReply, port = 0): Promise<ScriptedProvider> {
    const p = new ScriptedProvider(script);
    await new Promise<void>((resolve) => p.#server.listen(port, '127.0.0.1', resolve));
    return p;
  }

  /** The base URL to configure (`…/v1`). */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  script(fn: (req: RecordedRequest) => ScriptedReply): void {
    this.#script = fn;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: RecordedRequest['json'] = null;
    try {
      json = JSON.parse(body) as RecordedRequest['json'];
    } catch {
      json = null;
    }
    const rec: RecordedRequest = { n: this.requests.length + 1, path: req.url ?? '', authorization: req.headers.authorization, body, json };
    this.requests.push(rec);
    if (req.method !== 'POST' || !rec.path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
      return;
    }
    const reply = this.#script(rec);
    if ('hang' in reply) {
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if ('status' in reply) {
      const errBody = reply.body ?? { error: { message: `scripted ${reply.status}`, type: reply.status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(typeof errBody === 'string' ? errBody : JSON.stringify(errBody));
    } else {
      const usage = reply.usage ?? { prompt_tokens: Math.ceil(body.length / 4), completion_tokens: Math.ceil(reply.content.length / 4) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${rec.n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: json?.model ?? 'scripted',
          choices: [{ index: 0, message: { role: 'assistant', content: reply.refusal ? null : reply.content, refusal: reply.refusal ?? null }, finish_reason: 'stop', logprobs: null }],
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        }),
      );
    }
    rec.handledMs = performance.now() - arrived;
  }

  async close(): Promise<void> {
    for (const r of this.#hanging) r.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
