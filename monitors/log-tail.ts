import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';

export interface LogTailOptions {
  /** Start at the end of an existing file (default) or at its beginning. */
  from?: 'end' | 'start';
  /** Poll interval; file-system notifications make reading faster than this (default 100 ms). */
  pollMs?: number;
  /** Bytes read per slice before yielding to the event loop (default 1 MiB). */
  chunkBytes?: number;
  /** A line longer than this is dropped and counted as `overlong` (default 64 KiB). */
  maxLineBytes?: number;
  log?: Logger;
}

/** What the tail has seen since it started. */
export interface LogTailCounters {
  lines: number;
  bytes: number;
  /** Lines dropped for exceeding `maxLineBytes`. */
  overlong: number;
  /** Times the file shrank under the tail (truncated in place, e.g. `copytruncate`). */
  truncations: number;
  /** Times the path came to name a new file (rotated by rename, or recreated). */
  rotations: number;
}

interface Open {
  fd: number;
  ino: number;
  dev: number;
  pos: number;
}

/**
 * Follows a log file like `tail -F`: hands every complete line to `onLine`, keeps a partial last
 * line until its newline arrives, starts over when the file is truncated, and follows the path to
 * a new file when it is rotated (after reading the old file to its end). Lines are read in slices
 * of `chunkBytes`, yielding between slices, so a flood of lines never blocks the process.
 */
export class LogTail {
  readonly counters: LogTailCounters = { lines: 0, bytes: 0, overlong: 0, truncations: 0, rotations: 0 };
  readonly #file: string;
  readonly #onLine: (line: string) => void;
  readonly #opts: Required<Omit<LogTailOptions, 'log'>> & { log?: Logger };
  #cur: Open | null = null;
  #carry: Buffer | null = null;
  #dropping = false;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #again = false;
  #stopped = false;
  readonly #buf: Buffer;
  #drained: (() => void)[] = [];

  constructor(file: string, onLine: (line: string) => void, opts: LogTailOptions = {}) {
    this.#file = file;
    this.#onLine = onLine;
    this.#opts = { from: opts.from ?? 'end', pollMs: opts.pollMs ?? 100, chunkBytes: opts.chunkBytes ?? 1 << 20, maxLineBytes: opts.maxLineBytes ?? 1 << 16, log: opts.log };
    this.#buf = Buffer.allocUnsafe(this.#opts.chunkBytes);
  }

  get file(): string {
    return this.#file;
  }

  /** Opens the file (if it exists yet) and starts following it. */
  start(): void {
    this.#cur = this.#open(this.#opts.from === 'end');
    try {
      const name = basename(this.#file);
      this.#watcher = watch(dirname(this.#file), { persistent: false }, (_ev, f) => {
        if (!f || f === name) this.#kick();
      });
      this.#watcher.on('error', () => undefined);
    } catch (e) {
      this.#opts.log?.warn({ err: e, file: this.#file }, 'cannot watch the log directory; polling only');
    }
    this.#timer = setInterval(() => this.#kick(), this.#opts.pollMs);
    this.#timer.unref();
    this.#kick();
  }

  /** Resolves once everything written so far has been read and handed on. */
  async drain(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#drained.push(resolve);
      this.#kick();
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#cur) closeSync(this.#cur.fd);
    this.#cur = null;
    for (const f of this.#drained.splice(0)) f();
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#pump().finally(() => {
      this.#running = false;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.#kick();
      } else {
        for (const f of this.#drained.splice(0)) f();
      }
    });
  }

  #open(atEnd: boolean): Open | null {
    let fd: number;
    try {
      fd = openSync(this.#file, 'r');
    } catch {
      return null;
    }
    const st = fstatSync(fd);
    return { fd, ino: st.ino, dev: st.dev, pos: atEnd ? st.size : 0 };
  }

  async #pump(): Promise<void> {
    for (;;) {
      this.#again = false;
      if (!this.#cur) {
        this.#cur = this.#open(false);
        if (!this.#cur) return;
      }
      const cur = this.#cur;
      const size = fstatSync(cur.fd).size;
      if (size < cur.pos) {
        this.counters.truncations++;
        this.#opts.log?.info({ file: this.#file, size, pos: cur.pos }, 'log file truncated; reading it from the start');
        cur.pos = 0;
        this.#carry = null;
        this.#dropping = false;
      }
      if (size > cur.pos) {
        await this.#readTo(cur, size);
        if (this.#stopped) return;
        continue;
      }
      // Read the open file to its end before following a rotation.
      let st: { ino: number; dev: number } | null = null;
      try {
        st = statSync(this.#file);
      } catch {
        st = null;
      }
      if (st && (st.ino !== cur.ino || st.dev !== cur.dev)) {
        this.counters.rotations++;
        this.#opts.log?.info({ file: this.#file }, 'log file rotated; following the new file');
        // The writer has opened the new file, so the old one is final: read what it got last.
        await this.#readTo(cur, fstatSync(cur.fd).size);
        this.#flushCarry();
        closeSync(cur.fd);
        this.#cur = this.#open(false);
        continue;
      }
      if (!this.#again) return;
    }
  }

  async #readTo(cur: Open, size: number): Promise<void> {
    while (cur.pos < size && !this.#stopped) {
      const n = readSync(cur.fd, this.#buf, 0, Math.min(this.#buf.length, size - cur.pos), cur.pos);
      if (n <= 0) break;
      cur.pos += n;
      this.counters.bytes += n;
      this.#split(this.#buf.subarray(0, n));
      if (cur.pos < size) await new Promise((r) => setImmediate(r));
    }
  }

  #split(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      let line: Buffer = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#carry) {
        line = Buffer.concat([this.#carry, line]);
        this.#carry = null;
      }
      if (this.#dropping) {
        this.#dropping = false;
        continue;
      }
      this.#emit(line);
    }
    if (start < chunk.length) {
      if (this.#dropping) return;
      const rest = chunk.subarray(start);
      const carried = this.#carry ? this.#carry.length + rest.length : rest.length;
      if (carried > this.#opts.maxLineBytes) {
        this.counters.overlong++;
        this.#carry = null;
        this.#dropping = true;
      } else {
        this.#carry = Buffer.from(this.#carry ? Buffer.concat([this.#carry, rest]) : rest);
      }
    }
  }

  #flushCarry(): void {
    if (this.#carry && this.#carry.length) this.#emit(this.#carry);
    this.#carry = null;
    this.#dropping = false;
  }

  #emit(line: Buffer): void {
    if (line.length > this.#opts.maxLineBytes) {
      this.counters.overlong++;
      return;
    }
    const end = line.length && line[line.length - 1] === 13 ? line.length - 1 : line.length;
    this.counters.lines++;
    try {
      this.#onLine(line.toString('utf8', 0, end));
    } catch (e) {
      this.#opts.log?.error({ err: e }, 'log line handler failed');
    }
  }
}
