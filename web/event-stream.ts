import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FeedItem, LiveFeed } from './live-feed.js';

export interface EventStreamOptions {
  /** A comment line keeps idle connections open through proxies (default 15 s). */
  keepAliveMs?: number;
  /** The `retry:` the stream advises (the page's own backoff starts from it), default 1,000 ms. */
  retryMs?: number;
}

/** A client whose socket stops draining is cut after this much unwritten output (it reconnects and resumes). */
const MAX_BUFFERED = 8 * 1024 * 1024;

/** One SSE frame; `data` is one JSON line (JSON.stringify never emits a raw newline). */
function frame(event: string, id: string | undefined, data: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`;
}

/**
 * The live stream of {@link LiveFeed} as Server-Sent Events: `Last-Event-ID` (header, or the
 * `lastEventId` query parameter) resumes after that event; a stale or foreign id first sends
 * `event: reset` (reload your snapshot), then every kept item. Events are `event: bus`, id
 * `<epoch>-<seq>`, data `{ subject, envelope }`; the first frame is `event: hello` with the
 * feed's epoch and last sequence.
 */
export class EventStream {
  readonly #clients = new Set<() => void>();
  /** Streams opened; of them, resumed after a `Last-Event-ID` of this feed, or reset (a foreign or stale id); time spent writing live frames, in ms. */
  readonly stats = { opened: 0, resumed: 0, reset: 0, writeMs: 0 };

  constructor(
    private readonly feed: LiveFeed,
    private readonly o: EventStreamOptions = {},
  ) {}

  get clients(): number {
    return this.#clients.size;
  }

  serve(req: FastifyRequest, reply: FastifyReply): void {
    const raw = reply.raw;
    const headerId = req.headers['last-event-id'];
    const queryId = (req.query as { lastEventId?: string }).lastEventId;
    const lastId = (Array.isArray(headerId) ? headerId[0] : headerId) ?? queryId;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.socket?.setNoDelay(true);
    let pending: string[] = [];
    let timer: NodeJS.Immediate | null = null;
    const write = () => {
      timer = null;
      if (!pending.length) return;
      const t0 = performance.now();
      const chunk = pending.join('');
      pending = [];
      raw.write(chunk);
      if (raw.writableLength > MAX_BUFFERED) close();
      this.stats.writeMs += performance.now() - t0;
    };
    const resume = this.feed.after(lastId);
    this.stats.opened++;
    if (resume.kind === 'reset') this.stats.reset++;
    else if (lastId) this.stats.resumed++;
    const head = [`retry: ${this.o.retryMs ?? 1000}\n\n`, frame('hello', undefined, JSON.stringify({ epoch: this.feed.epoch, lastSeq: this.feed.lastSeq, resumed: resume.kind === 'items' && Boolean(lastId) }))];
    if (resume.kind === 'reset') head.push(frame('reset', undefined, JSON.stringify({ reason: resume.reason })));
    raw.write(head.join('') + resume.items.map((i) => frame('bus', i.id, i.json)).join(''));
    const off = this.feed.listen((item: FeedItem) => {
      pending.push(frame('bus', item.id, item.json));
      // the messages of one socket read arrive in one turn of the event loop: one write for all of them
      timer ??= setImmediate(write);
    });
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), this.o.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const close = () => {
      if (!this.#clients.delete(close)) return;
      off();
      clearInterval(keepAlive);
      if (timer) clearImmediate(timer);
      raw.end();
    };
    this.#clients.add(close);
    raw.on('close', close);
  }

  /** Ends every open stream (server stop); the pages reconnect with their last id. */
  closeAll(): void {
    for (const c of [...this.#clients]) c();
  }
}
