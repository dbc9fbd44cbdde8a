import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { answerFormat } from './answer.js';
import type { ChatMessage } from './prompt.js';
import type { ProviderConfig } from './provider-config.js';

/** What one HTTP call to a provider gave. */
export type CallResult =
  | { kind: 'answer'; content: string | null; refusal: string | null; promptTokens: number; completionTokens: number; latencyMs: number }
  | { kind: 'error'; reason: string; httpStatus?: number; retryAfterMs?: number; retryable: boolean; latencyMs: number };

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | Record<string, string | null | undefined> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const get = (n: string) => (headers instanceof Headers ? headers.get(n) : (headers[n] ?? undefined)) ?? undefined;
  const ms = get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const v = get('retry-after');
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One OpenAI-compatible provider: the `openai` client with its own retries off (the diagnoser
 * retries, so each attempt is charged to the incident's budget and Retry-After is honoured).
 */
export class ProviderClient {
  readonly #client: OpenAI;

  constructor(
    readonly config: ProviderConfig,
    private readonly maxAnswerTokens: number,
  ) {
    this.#client = new OpenAI({ baseURL: config.baseUrl, apiKey: config.apiKey || 'none', timeout: config.timeoutMs, maxRetries: 0, logLevel: 'off' });
  }

  async call(messages: ChatMessage[], allowed: readonly string[]): Promise<CallResult> {
    const c = this.config;
    const body: ChatCompletionCreateParamsNonStreaming = { model: c.model, messages, temperature: 0, max_tokens: this.maxAnswerTokens };
    if (c.responseFormat === 'json_schema') body.response_format = answerFormat(allowed);
    else if (c.responseFormat === 'json_object') body.response_format = { type: 'json_object' };
    const started = performance.now();
    try {
      const r = await this.#client.chat.completions.create(body, { timeout: c.timeoutMs });
      const latencyMs = performance.now() - started;
      const msg = r.choices?.[0]?.message;
      const content = typeof msg?.content === 'string' ? msg.content : null;
      const promptTokens = r.usage?.prompt_tokens ?? Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      const completionTokens = r.usage?.completion_tokens ?? Math.ceil((content?.length ?? 0) / 4);
      return { kind: 'answer', content, refusal: msg?.refusal ?? null, promptTokens, completionTokens, latencyMs };
    } catch (e) {
      const latencyMs = performance.now() - started;
      if (e instanceof OpenAI.APIConnectionTimeoutError) return { kind: 'error', reason: `no answer within ${c.timeoutMs} ms`, retryable: false, latencyMs };
      if (e instanceof OpenAI.APIConnectionError) return { kind: 'error', reason: `connection failed: ${e.cause instanceof Error ? e.cause.message : e.message}`, retryable: false, latencyMs };
      if (e instanceof OpenAI.APIError) {
        const status = e.status as number | undefined;
        const headers = e.headers as Headers | undefined;
        const retryable = status === 429 || (status !== undefined && status >= 500);
        return { kind: 'error', reason: `HTTP ${status ?? '?'}: ${String(e.message).slice(0, 200)}`, httpStatus: status, retryAfterMs: retryAfterMs(headers), retryable, latencyMs };
      }
      return { kind: 'error', reason: `unexpected: ${(e as Error).message.slice(0, 200)}`, retryable: false, latencyMs };
    }
  }
}
