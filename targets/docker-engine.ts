import Docker from 'dockerode';
import type { Logger } from 'pino';

/** The container events the docker driver follows (`GET /events`, type container). */
export const WATCHED_ACTIONS = ['start', 'die', 'oom', 'health_status', 'destroy'] as const;
export type ContainerAction = (typeof WATCHED_ACTIONS)[number];

export interface ContainerEvent {
  action: ContainerAction;
  id: string;
  /** The container's name, without Docker's leading `/`. */
  name: string;
  /** `die`: the main process's exit code. */
  exitCode?: number;
  /** `health_status`: `healthy` or `unhealthy`. */
  health?: string;
  /** When dockerd emitted it (ms since the epoch). */
  at: number;
  /** The container's labels and dockerd's other attributes (`image`, `exitCode`…), as the event carries them. */
  attributes: Readonly<Record<string, string>>;
}

/** One driver's view of the engine: its container's events and the engine's reachability. */
export interface EngineWatcher {
  container: string;
  onEvent(e: ContainerEvent): void;
  /** The engine went away (`reachable: false`, with why) or came back. Called on transitions only. */
  onReachability(reachable: boolean, error?: string): void;
  /** The stream (re)connected: re-read the container's state (events may have been lost meanwhile). */
  onResync(): void;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
  time?: number;
}

/** `seconds.nanoseconds`, the form dockerd's `since` parses without losing the fraction. */
function dockerTime(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String(Math.floor(ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

const engines = new Map<string, DockerEngine>();

/**
 * One Docker Engine (by socket), shared by every docker target on it: the API client and one
 * events stream. The stream is opened with `since` set to an instant before the drivers read
 * their containers' state, so nothing between the read and the subscription is lost; after a
 * reconnect it resumes from just before the last moment it was known alive (events seen twice are
 * dropped) and every watcher re-reads its container. A ping every `pingMs` finds an engine that
 * went away while its stream stayed silent.
 */
export class DockerEngine {
  readonly docker: Docker;
  readonly #watchers = new Set<EngineWatcher>();
  readonly #seen = new Set<string>();
  readonly #listeners = new Set<(e: ContainerEvent) => void>();
  #stream: NodeJS.ReadableStream | null = null;
  #running = false;
  #reachable = true;
  #aliveAt = Date.now();
  #pinger: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;

  private constructor(
    readonly socketPath: string,
    private readonly log: Logger,
    private readonly pingMs = 1000,
  ) {
    this.docker = new Docker({ socketPath });
  }

  /** The shared engine of `socketPath`. */
  static of(socketPath: string, log: Logger): DockerEngine {
    let e = engines.get(socketPath);
    if (!e) {
      e = new DockerEngine(socketPath, log.child({ component: 'docker-engine', socket: socketPath }));
      engines.set(socketPath, e);
    }
    return e;
  }

  get reachable(): boolean {
    return this.#reachable;
  }

  /**
   * Adds a watcher; the stream starts with the first. Call before reading the container's
   * state: the subscription's `since` is now. Returns the function that removes it.
   */
  watch(w: EngineWatcher): () => void {
    this.#watchers.add(w);
    if (!this.#running) {
      this.#running = true;
      this.#aliveAt = Date.now();
      void this.#loop();
      this.#pinger = setInterval(() => void this.#ping(), this.pingMs);
      this.#pinger.unref();
    }
    return () => {
      this.#watchers.delete(w);
      if (this.#watchers.size === 0) this.#close();
    };
  }

  /**
   * Every watched container event on the engine, of any container (e.g. the container monitor counts
   * `die`s of containers carrying Homeostat's label). Needs the stream: at least one {@link watch}.
   * Returns the function that removes the listener.
   */
  onContainerEvent(listener: (e: ContainerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #close(): void {
    this.#running = false;
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = null;
    this.#destroyStream();
    this.#wake?.();
    engines.delete(this.socketPath);
  }

  #destroyStream(): void {
    const s = this.#stream as { destroy?: () => void } | null;
    this.#stream = null;
    s?.destroy?.();
  }

  async #ping(): Promise<void> {
    try {
      await (this.docker.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>).call(this.docker, { abortSignal: AbortSignal.timeout(Math.max(500, this.pingMs)) });
      if (this.#stream) this.#aliveAt = Date.now();
    } catch (e) {
      this.#lost(e as Error);
      this.#destroyStream();
    }
  }

  #lost(e: Error): void {
    if (!this.#reachable || !this.#running) return;
    this.#reachable = false;
    this.log.warn({ err: e.message }, 'docker engine unreachable');
    for (const w of this.#watchers) w.onReachability(false, `${this.socketPath}: ${e.message}`);
  }

  async #loop(): Promise<void> {
    let backoff = 100;
    while (this.#running) {
      // replay from a moment before the stream was last known alive; duplicates are dropped
      const since = dockerTime(this.#aliveAt - 1000);
      try {
        const stream = await this.docker.getEvents({
          since: since as unknown as number,
          filters: { type: ['container'], event: [...WATCHED_ACTIONS] },
        });
        if (!this.#running) {
          (stream as unknown as { destroy(): void }).destroy();
          return;
        }
        this.#stream = stream;
        this.#aliveAt = Date.now();
        backoff = 100;
        if (!this.#reachable) {
          this.#reachable = true;
          this.log.info('docker engine reachable again');
          for (const w of this.#watchers) w.onReachability(true);
        }
        for (const w of this.#watchers) w.onResync();
        await this.#read(stream);
        if (this.#running) this.#lost(new Error('the events stream ended'));
      } catch (e) {
        this.#lost(e as Error);
      }
      this.#stream = null;
      if (!this.#running) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = null;
      backoff = Math.min(backoff * 2, 1000);
    }
  }

  #read(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve) => {
      let buf = '';
      stream.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) this.#dispatch(line);
        }
      });
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
  }

  #dispatch(line: string): void {
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'unparsable docker event dropped');
      return;
    }
    const action = (raw.Action ?? raw.status ?? '').split(':')[0] as ContainerAction;
    if (!WATCHED_ACTIONS.includes(action)) return;
    const id = raw.Actor?.ID ?? raw.id ?? '';
    const key = `${id}|${raw.Action ?? raw.status}|${raw.timeNano ?? raw.time}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (this.#seen.size > 2000) this.#seen.delete(this.#seen.values().next().value!);
    const attrs = raw.Actor?.Attributes ?? {};
    const e: ContainerEvent = {
      action,
      id,
      name: (attrs['name'] ?? '').replace(/^\//, ''),
      at: raw.timeNano ? Math.floor(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000,
      attributes: attrs,
    };
    if (action === 'die' && attrs['exitCode'] !== undefined) e.exitCode = Number(attrs['exitCode']);
    if (action === 'health_status') e.health = (raw.Action ?? raw.status ?? '').split(':')[1]?.trim();
    for (const w of this.#watchers) if (w.container === e.name || w.container === id) w.onEvent(e);
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err }, 'container event listener failed');
      }
    }
  }
}
