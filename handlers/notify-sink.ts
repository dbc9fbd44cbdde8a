import type { Logger } from 'pino';
import type { SinkConfig } from './notify-config.js';

/** One notification as the sinks deliver it. */
export interface OutgoingNotification {
  message: string;
  severity: 'info' | 'warning' | 'critical';
  target?: string;
  details?: Record<string, unknown>;
  /** The event family it is about (lifecycle notifications), for routing by family. */
  family?: string;
  /** The lifecycle stage (received, diagnosing, executing, resolved, failed), when it is one. */
  stage?: string;
  time: string;
}

export interface SinkStats {
  queued: number;
  sent: number;
  retried: number;
  /** Given up after the last retry, or refused for good (a 4xx other than 429). */
  failed: number;
  /** Refused because the queue was full. */
  dropped: number;
}

type HttpSink = Extract<SinkConfig, { kind: 'slack' | 'webhook' }>;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Slack's incoming webhook body: Block Kit, with `text` as the fallback for notifications. */
export function slackBody(n: OutgoingNotification): unknown {
  const icon = n.severity === 'critical' ? ':rotating_light:' : n.severity === 'warning' ? ':warning:' : ':information_source:';
  const fields = [
    `*Severity:* ${n.severity}`,
    ...(n.target ? [`*Target:* ${n.target}`] : []),
    ...Object.entries(n.details ?? {})
      .slice(0, 8)
      .map(([k, v]) => `*${k}:* ${typeof v === 'string' ? v : JSON.stringify(v)}`.slice(0, 300)),
  ];
  return {
    text: `${n.severity.toUpperCase()}: ${n.message}`.slice(0, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${n.message}*`.slice(0, 3000) } },
      { type: 'section', fields: fields.map((f) => ({ type: 'mrkdwn', text: f })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `homeostat · ${n.time}` }] },
    ],
  };
}

/** Seconds or an HTTP date → milliseconds to wait; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One HTTP sink (Slack incoming webhook or generic JSON webhook) with its own bounded queue and one
 * sender: retries a 429 (after its Retry-After), a 5xx, a timeout or a refused connection with
 * backoff; gives up after `retries` and counts it. `push` never waits and never throws, so a slow,
 * failing or hanging sink cannot hold up the action that notified.
 */
export class HttpSinkQueue {
  readonly stats: SinkStats = { queued: 0, sent: 0, retried: 0, failed: 0, dropped: 0 };
  readonly #queue: OutgoingNotification[] = [];
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  readonly #idle = new Set<() => void>();

  constructor(
    readonly config: HttpSink,
    private readonly log: Logger,
    /** Longest wait honoured from a Retry-After header (default 5 min). */
    private readonly maxRetryAfterMs = 300_000,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Queues a notification; false (and counted as dropped) when the queue is full or the sink is closed. */
  push(n: OutgoingNotification): boolean {
    if (this.#stop.signal.aborted || this.#queue.length >= this.config.queue) {
      this.stats.dropped++;
      this.log.warn({ sink: this.name, queue: this.#queue.length }, 'notification dropped: sink queue full');
      return false;
    }
    this.#queue.push(n);
    this.stats.queued = this.#queue.length;
    this.#running ??= this.#drain().finally(() => (this.#running = null));
    return true;
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((r) => this.#idle.add(r));
  }

  /** Stops sending: what is queued is dropped, an attempt in flight is aborted. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.stats.dropped += this.#queue.length;
    this.#queue.length = 0;
    await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length && !this.#stop.signal.aborted) {
      const n = this.#queue[0]!;
      await this.#deliver(n);
      this.#queue.shift();
      this.stats.queued = this.#queue.length;
    }
    for (const r of this.#idle) r();
    this.#idle.clear();
  }

  async #deliver(n: OutgoingNotification): Promise<void> {
    const c = this.config;
    const body = JSON.stringify(c.kind === 'slack' ? slackBody(n) : n);
    const headers = { 'content-type': 'application/json', ...(c.kind === 'webhook' ? c.headers : {}) };
    let wait = c.backoff;
    for (let attempt = 0; ; attempt++) {
      let retryIn: number | undefined;
      let why: string;
      try {
        const res = await fetch(c.url, { method: 'POST', headers, body, signal: AbortSignal.any([AbortSignal.timeout(c.timeout), this.#stop.signal]) });
        const text = (await res.text()).slice(0, 200);
        if (res.ok) {
          this.stats.sent++;
          return;
        }
        why = `answered ${res.status}${text ? ` ${JSON.stringify(text)}` : ''}`;
        if (res.status === 429) retryIn = Math.min(this.maxRetryAfterMs, retryAfterMs(res.headers.get('retry-after')) ?? wait);
        else if (res.status < 500) {
          this.stats.failed++;
          this.log.error({ sink: this.name, status: res.status }, `notification refused by sink ${this.name}: ${why}; not retried`);
          return;
        }
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        why = (e as Error).name === 'TimeoutError' ? `no answer within ${c.timeout} ms` : (e as Error).message;
      }
      if (attempt >= c.retries) {
        this.stats.failed++;
        this.log.error({ sink: this.name, attempts: attempt + 1 }, `notification not delivered to sink ${this.name}: ${why}`);
        return;
      }
      this.stats.retried++;
      this.log.warn({ sink: this.name, attempt: attempt + 1 }, `sink ${this.name} ${why}; retrying`);
      await sleep(retryIn ?? wait, this.#stop.signal);
      wait = Math.min(c.maxBackoff, wait * 2);
      if (this.#stop.signal.aborted) return;
    }
  }
}
