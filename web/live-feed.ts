import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { EnvelopeSchema, subjects, type BusClient, type Envelope } from '../bus/index.js';

/** One bus message as the dashboard sees it: a sequence id of this feed, its subject and envelope. */
export interface FeedItem {
  /** `<epoch>-<seq>`: the SSE event id; `seq` grows by one per message, `epoch` names this feed's life. */
  id: string;
  seq: number;
  subject: string;
  envelope: Envelope;
  /** The envelope as JSON, serialised once for every client. */
  json: string;
}

/** Where a reconnecting client resumes: the items after its last id, or a reset when they are gone. */
export type Resume = { kind: 'items'; items: FeedItem[] } | { kind: 'reset'; reason: string; items: FeedItem[] };

export interface LiveFeedOptions {
  bus: BusClient;
  log: Logger;
  /** Items kept for resuming clients (default 5,000). */
  capacity?: number;
  /** What is bridged (default {@link FEED_PATTERNS}). */
  patterns?: string[];
}

/** The subjects the dashboard bridges: what monitors saw, what runs did and asked (mutating actions, not probes), what handlers answered, what operators decided. */
export const FEED_PATTERNS = [subjects.eventsAll, subjects.runsAll, subjects.actionsDurable, 'results.>', subjects.approvalsAll] as const;

/**
 * The dashboard's view of the bus: subscribes (with the read-only `dashboard` role) to
 * {@link FEED_PATTERNS}, numbers each valid envelope, keeps the last `capacity` in a ring, and
 * pushes each to listeners. A message that is not an envelope is skipped and counted: the
 * component that consumes it dead-letters it, the observer does not repeat that.
 */
export class LiveFeed {
  readonly epoch = Date.now().toString(36);
  /** Messages numbered, messages skipped (not envelopes), and the time spent handling them (parse, check, ring, listeners: the SSE writers), in ms. */
  readonly stats = { received: 0, skipped: 0, busyMs: 0 };
  #seq = 0;
  #ring: FeedItem[] = [];
  #start = 0;
  #listeners = new Set<(item: FeedItem) => void>();
  #subs: Subscription[] = [];
  readonly #capacity: number;

  constructor(private readonly o: LiveFeedOptions) {
    this.#capacity = o.capacity ?? 5000;
  }

  start(): void {
    for (const p of this.o.patterns ?? FEED_PATTERNS) {
      this.#subs.push(
        this.o.bus.nc.subscribe(p, {
          callback: (err, msg) => {
            if (err) return void this.o.log.warn({ err, pattern: p }, 'dashboard feed subscription error');
            const t0 = performance.now();
            this.#take(msg.subject, msg.string());
            this.stats.busyMs += performance.now() - t0;
          },
        }),
      );
    }
  }

  /** One message heard: numbered and pushed when it is an envelope, counted as skipped otherwise. */
  #take(subject: string, raw: string): void {
    let parsed;
    try {
      parsed = EnvelopeSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) return void this.stats.skipped++;
    // the schema is strict (it strips nothing), so the text received is the envelope's JSON: not serialised
    // again, unless it spans lines (one SSE data line holds it)
    this.push(subject, parsed.data, /[\r\n]/.test(raw) ? undefined : raw);
  }

  /** Adds one message (the bus subscription calls this; exposed for tests of the stream). */
  push(subject: string, envelope: Envelope, envelopeJson = JSON.stringify(envelope)): FeedItem {
    this.stats.received++;
    const seq = ++this.#seq;
    const item: FeedItem = { id: `${this.epoch}-${seq}`, seq, subject, envelope, json: `{"subject":${JSON.stringify(subject)},"envelope":${envelopeJson}}` };
    if (this.#ring.length < this.#capacity) this.#ring.push(item);
    else {
      this.#ring[this.#start] = item;
      this.#start = (this.#start + 1) % this.#capacity;
    }
    for (const l of this.#listeners) l(item);
    return item;
  }

  /** The kept items, oldest first. */
  items(): FeedItem[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }

  /**
   * The items after `lastEventId` (an SSE `Last-Event-ID`). An id of another epoch (the server
   * restarted) or older than the ring is a reset: the client must reload its snapshot first.
   */
  after(lastEventId: string | undefined): Resume {
    const all = this.items();
    if (!lastEventId) return { kind: 'items', items: all };
    const m = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId);
    if (!m) return { kind: 'reset', reason: `not an event id of this server: "${lastEventId.slice(0, 60)}"`, items: all };
    if (m[1] !== this.epoch) return { kind: 'reset', reason: 'the server restarted since your last event', items: all };
    const last = Number(m[2]);
    const first = all[0]?.seq ?? this.#seq + 1;
    if (last > this.#seq) return { kind: 'reset', reason: `event ${last} is ahead of this server (${this.#seq})`, items: all };
    if (last < first - 1) return { kind: 'reset', reason: `events ${last + 1}–${first - 1} are no longer kept`, items: all };
    return { kind: 'items', items: all.slice(last - first + 1) };
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Calls `fn` for every new item; returns the unsubscribe. */
  listen(fn: (item: FeedItem) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    this.#listeners.clear();
  }
}
