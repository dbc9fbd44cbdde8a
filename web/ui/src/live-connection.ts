/** One bus message as the server's SSE stream sends it (`event: bus`). */
export interface BusItem {
  id: string;
  subject: string;
  envelope: { id: string; type: string; source: string; time: string; target?: string; data: unknown };
  /** Published after this stream opened (not a replay of kept messages): its latency is meaningful. */
  live: boolean;
}

export type ConnectionState = { kind: 'connecting'; attempt: number } | { kind: 'live'; since: number } | { kind: 'disconnected'; retryInMs: number; reason: string };

export interface LiveConnectionHandlers {
  /** A batch of bus messages, in order: at most one call per animation frame, so a storm costs at most one render a frame. */
  onItems(items: BusItem[]): void;
  /** The server no longer has what followed our last id (it restarted): reload the snapshot. */
  onReset(reason: string): void;
  onState(s: ConnectionState): void;
}

/**
 * The page's end of `GET /dashboard/events`: an SSE reader over `fetch`, so every reconnect
 * sends `Last-Event-ID` itself and backs off (1 s doubling to 15 s, with jitter) while the
 * server is away. `EventSource` would give up on a refused reconnect and cannot back off.
 */
export class LiveConnection {
  lastEventId: string | undefined;
  #stopped = false;
  #abort: AbortController | null = null;
  #attempt = 0;
  #queue: BusItem[] = [];
  #frame: { cancel(): void } | undefined;
  #liveAfter = Infinity;
  /** Where the page's time goes under load: the longest slice spent parsing the stream, and the longest batch handed on. */
  readonly stats = { longestParseMs: 0, longestBatch: 0, batches: 0 };

  constructor(
    private readonly url: string,
    private readonly h: LiveConnectionHandlers,
  ) {}

  start(): void {
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      this.h.onState({ kind: 'connecting', attempt: this.#attempt });
      let reason = 'the stream ended';
      try {
        await this.#read();
      } catch (e) {
        reason = (e as Error).message || String(e);
      }
      if (this.#stopped) return;
      const delay = Math.min(15_000, 1000 * 2 ** Math.min(this.#attempt, 4)) * (0.8 + Math.random() * 0.4);
      this.#attempt++;
      this.h.onState({ kind: 'disconnected', retryInMs: Math.round(delay), reason });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async #read(): Promise<void> {
    this.#abort = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const res = await fetch(this.url, { headers, signal: this.#abort.signal, cache: 'no-store' });
    if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let slice = performance.now();
    for (;;) {
      // a backlog's chunks resolve as microtasks, one after another: yield every 8 ms so the page
      // renders and stays responsive while it catches up
      if (performance.now() - slice > 8) {
        await new Promise((r) => setTimeout(r, 0));
        slice = performance.now();
      }
      const { value, done } = await reader.read();
      if (done) return;
      let parsing = performance.now();
      buf += value;
      // one pass over the chunk: a storm brings hundreds of frames per read; a big chunk (a backlog)
      // is parsed in slices of 8 ms, the page rendering between them
      let from = 0;
      let cut: number;
      while ((cut = buf.indexOf('\n\n', from)) >= 0) {
        this.#frameIn(buf.slice(from, cut));
        from = cut + 2;
        if (performance.now() - parsing > 8) {
          this.stats.longestParseMs = Math.max(this.stats.longestParseMs, performance.now() - parsing);
          await new Promise((r) => setTimeout(r, 0));
          parsing = slice = performance.now();
        }
      }
      this.stats.longestParseMs = Math.max(this.stats.longestParseMs, performance.now() - parsing);
      buf = buf.slice(from);
    }
  }

  #frameIn(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (event === 'hello') {
      this.#liveAfter = (JSON.parse(data.join('\n')) as { lastSeq: number }).lastSeq;
      this.#attempt = 0;
      this.h.onState({ kind: 'live', since: Date.now() });
    } else if (event === 'reset') {
      this.#flush();
      this.h.onReset((JSON.parse(data.join('\n')) as { reason: string }).reason);
    } else if (event === 'bus' && id) {
      this.lastEventId = id;
      const body = JSON.parse(data.join('\n')) as Omit<BusItem, 'id' | 'live'>;
      this.#queue.push({ id, ...body, live: Number(id.slice(id.lastIndexOf('-') + 1)) > this.#liveAfter });
      this.#frame ??= nextFrame(() => this.#flush());
    }
  }

  #flush(): void {
    this.#frame?.cancel();
    this.#frame = undefined;
    if (!this.#queue.length) return;
    // at most 1,000 a frame (at 10,000/s a loaded page drawing 20 frames a second still keeps up): a page
    // that fell behind catches up in steps, rendering between them
    const items = this.#queue.splice(0, 1000);
    if (this.#queue.length) this.#frame = nextFrame(() => this.#flush());
    this.stats.batches++;
    this.stats.longestBatch = Math.max(this.stats.longestBatch, items.length);
    this.h.onItems(items);
  }
}

/** The next animation frame; 100 ms in a hidden tab (no frames there), so messages are still applied. */
function nextFrame(fn: () => void): { cancel(): void } {
  if (typeof requestAnimationFrame === 'function' && !document.hidden) {
    const id = requestAnimationFrame(fn);
    return { cancel: () => cancelAnimationFrame(id) };
  }
  const t = setTimeout(fn, 100);
  return { cancel: () => clearTimeout(t) };
}
