import type { RootCause } from './root-cause.js';

/**
 * The seam between Homeostat and the things it looks after. Every operation is asynchronous so
 * a driver that is not a local process (`docker`, later) fits the same interface. Adapters are
 * chosen by the `driver:` field of `targets.yaml` (see `drivers.ts`).
 */
export interface TargetStatus {
  name: string;
  running: boolean;
  pid?: number;
  startedAt?: string;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** Why the last start failed (spawn error), while the target is not running. */
  startError?: string;
  /** Docker targets: the container's state as `inspect` reports it. */
  container?: { id: string; status: string; exitCode: number; oomKilled: boolean; health: string | null };
}

/** One change of a target's state, pushed by the driver (never polled). */
export type TargetStateChange =
  | {
      kind: 'started';
      pid: number;
      at: number;
      restarts: number;
      /** Docker targets started by Homeostat: when it asked the engine to start the container (ms since the epoch) — the start's own cost begins there. */
      requestedAt?: number;
    }
  | {
      kind: 'exited';
      pid: number;
      code: number | null;
      signal: string | null;
      /** True when Homeostat itself stopped or restarted the target. */
      expected: boolean;
      uptimeMs: number;
      restarts: number;
      at: number;
      /** Docker targets: killed by the kernel's OOM killer (`confirmed`: OOMKilled or an `oom` event; `suspected`: exit 137 without either). */
      oom?: 'confirmed' | 'suspected';
      /** Docker targets, unexpected deaths: the root cause read from the last log lines (see root-cause.ts). */
      cause?: { rootCause: RootCause; evidence: string | null; diskUsedPct: number | null };
    }
  | { kind: 'start_failed'; error: string; restarts: number; at: number }
  /** Docker targets: the container's own HEALTHCHECK changed verdict (`health_status` from the events stream). */
  | { kind: 'health'; status: 'healthy' | 'unhealthy'; at: number }
  /** The driver lost (or regained) what it drives the target through, e.g. the Docker engine. */
  | { kind: 'unreachable'; error: string; at: number }
  | { kind: 'reachable'; at: number };

export interface ExecOptions {
  /** The command is killed (its whole process group) after this long. */
  timeoutMs: number;
  /** Each of stdout and stderr is cut after this many bytes. */
  maxOutputBytes: number;
}

export interface ExecResult {
  /** Null when the command was killed (timeout) or could not be started. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the command could not be started at all (e.g. ENOENT). */
  error?: string;
  /** stdout or stderr was cut at `maxOutputBytes` (docker: with a marker at the cut). */
  truncated?: boolean;
}

export interface LogLine {
  at: number;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface TargetDriver {
  readonly name: string;
  readonly critical: boolean;
  readonly protected: boolean;
  /** Starts the target; a start failure rejects and is also pushed as `start_failed`. */
  start(): Promise<void>;
  /** Stops the target (an expected exit: no `exited` event downstream). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  status(): Promise<TargetStatus>;
  /** Runs `argv` (never through a shell) beside/inside the target, bounded in time and output. */
  exec(argv: readonly string[], opts: ExecOptions): Promise<ExecResult>;
  /** The last lines the target wrote (a bounded buffer), oldest first. */
  logs(opts?: { since?: number; tail?: number }): Promise<LogLine[]>;
  /** Sends a signal to the target's main process (`group: true` — its whole process group). */
  signal(sig: NodeJS.Signals, opts?: { group?: boolean }): Promise<void>;
  /** The pids of the target's process tree, main process first. */
  pids(): Promise<number[]>;
  /** Every start, exit and failed start, as it happens. Returns the unsubscribe function. */
  onState(listener: (change: TargetStateChange) => void): () => void;
  /**
   * Stops watching without stopping what Homeostat did not start (a container it did not create
   * keeps running). `stopAll` calls it instead of `stop` when a driver has it.
   */
  detach?(): Promise<void>;
}
