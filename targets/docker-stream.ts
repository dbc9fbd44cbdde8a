import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { LogLine } from './driver.js';

/** Appended to an exec's stdout or stderr that was cut at the byte bound. */
export const TRUNCATION_MARKER = '\n…[output truncated by Homeostat]';

/**
 * A writable that keeps at most `maxBytes` of what is written to it and counts the rest: an
 * exec's huge output is dropped as it streams, never buffered whole.
 */
export class BoundedSink extends Writable {
  #chunks: Buffer[] = [];
  #kept = 0;
  dropped = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const room = this.maxBytes - this.#kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.#chunks.push(part);
      this.#kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    done();
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** What was kept, with {@link TRUNCATION_MARKER} when something was dropped. */
  text(): string {
    const s = Buffer.concat(this.#chunks).toString('utf8');
    return this.truncated ? `${s}${TRUNCATION_MARKER} (${this.dropped} more bytes)` : s;
  }
}

/**
 * Splits the body of `GET /containers/{id}/logs` (not a TTY: 8-byte frame headers — stream,
 * 3 zero bytes, big-endian length) asked with `timestamps=true` into lines, oldest first.
 */
export function parseLogFrames(buf: Buffer): LogLine[] {
  const out: LogLine[] = [];
  const partial: Record<LogLine['stream'], string> = { stdout: '', stderr: '' };
  const push = (stream: LogLine['stream'], raw: string) => {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/s.exec(raw);
    const at = m ? Date.parse(m[1]!) : Date.now();
    const line = m ? m[2]! : raw;
    out.push({ at, stream, line: line.length > 4096 ? `${line.slice(0, 4096)}…` : line });
  };
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    const size = buf.readUInt32BE(i + 4);
    const body = buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
    if (kind !== 1 && kind !== 2) continue;
    const stream = kind === 1 ? 'stdout' : 'stderr';
    const lines = (partial[stream] + body).split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const l of lines) push(stream, l);
  }
  for (const s of ['stdout', 'stderr'] as const) if (partial[s]) push(s, partial[s]);
  return out;
}

/** The signal an exit code above 128 stands for (137 → SIGKILL), as Docker reports a killed main process. */
export function signalOfExitCode(code: number | null): string | null {
  if (code === null || code <= 128 || code > 128 + 64) return null;
  const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };
  return names[code - 128] ?? null;
}

/**
 * The last `tail` lines of a container's `json-file` log (its `LogPath`, one JSON object a line:
 * `{ log, stream, time }`), reading at most the last `maxBytes` of the file — no call to the engine.
 * Null when the file cannot be read or is not in that format (another log driver, a remote engine,
 * no permission): the caller then asks the engine.
 */
export function readJsonFileLogTail(path: string, tail: number, maxBytes = 65_536): LogLine[] | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    let text = buf.toString('utf8');
    // a read that starts mid-file starts mid-line: drop that part line
    if (len < size) text = text.slice(text.indexOf('\n') + 1);
    const out: LogLine[] = [];
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      const j = JSON.parse(raw) as { log?: unknown; stream?: unknown; time?: unknown };
      if (typeof j.log !== 'string' || (j.stream !== 'stdout' && j.stream !== 'stderr')) return null;
      const line = j.log.replace(/\r?\n$/, '');
      out.push({ at: typeof j.time === 'string' ? Date.parse(j.time) : Date.now(), stream: j.stream, line: line.length > 4096 ? `${line.slice(0, 4096)}…` : line });
    }
    return out.slice(-tail);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
