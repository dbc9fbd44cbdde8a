/** What a target driver can do with one target. Adapters: `process` (here), `docker` (later). */
export interface TargetStatus {
  name: string;
  running: boolean;
  pid?: number;
  startedAt?: string;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

export interface TargetExit {
  name: string;
  pid: number;
  code: number | null;
  signal: string | null;
  /** True when Homeostat itself stopped the target. */
  expected: boolean;
}

export interface TargetDriver {
  readonly name: string;
  /** Health URL (if any), for probes. */
  readonly healthUrl?: string;
  readonly critical: boolean;
  readonly protected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Sends a signal to the target's main process (`group: true` — its whole process group). */
  signal(sig: NodeJS.Signals, opts?: { group?: boolean }): void;
  /** The pids of the target's process tree, main process first. */
  pids(): number[];
  status(): TargetStatus;
  /** Called on every exit, learned from the child's exit event (no polling). */
  onExit(listener: (exit: TargetExit) => void): () => void;
}
