import type { Logger } from 'pino';
import type { Credentials } from '../bus/index.js';
import type { CheckConfig } from './check-kinds.js';
import { httpCheckUrl } from './checks/http-check.js';
import type { TargetConfig } from './config.js';
import type { TargetDriver } from './driver.js';
import { createDriver } from './drivers.js';
import { UnknownTargetError } from './errors.js';
import type { TargetRoot } from './process-usage.js';

/** One registered target: its config, driver, and the last state its driver pushed. */
export interface TargetRuntime {
  config: TargetConfig;
  driver: TargetDriver;
  checks: CheckConfig[];
  /** The TCP port the target listens on, when known (http `path` checks resolve against it). */
  port?: number;
  /** The URL of its first http check, when it has one. */
  healthUrl?: string;
  /** Its heartbeat interval and misses (from its `heartbeat` check; 100 ms × 3 when it has none). */
  intervalMs: number;
  misses: number;
  /** Last known state, kept from the driver's state stream. */
  running: boolean;
  pid?: number;
}

export interface RegistryOptions {
  /** Credentials of the `target` role, handed to built-in targets. */
  targetCredentials: Credentials;
  /** The stack's runtime directory: pid files go to `<dir>/targets/<name>.pid`. */
  dir?: string;
  log: Logger;
}

/** The registered targets and their drivers. */
export class TargetRegistry {
  readonly #targets = new Map<string, TargetRuntime>();

  private constructor(private readonly log: Logger) {}

  static async create(configs: TargetConfig[], opts: RegistryOptions): Promise<TargetRegistry> {
    const reg = new TargetRegistry(opts.log);
    const runtimeDir = opts.dir ? `${opts.dir}/targets` : undefined;
    for (const c of configs) {
      const { driver, port } = await createDriver(c, { targetCredentials: opts.targetCredentials, runtimeDir, log: opts.log });
      const beat = c.checks.find((k) => k.kind === 'heartbeat');
      const http = c.checks.find((k) => k.kind === 'http');
      const rt: TargetRuntime = {
        config: c,
        driver,
        checks: c.checks,
        port,
        healthUrl: http ? httpCheckUrl(http, port) : undefined,
        intervalMs: beat?.interval ?? 100,
        misses: beat?.misses ?? 3,
        running: false,
      };
      driver.onState((s) => {
        if (s.kind === 'unreachable' || s.kind === 'reachable' || s.kind === 'health') return;
        rt.running = s.kind === 'started';
        rt.pid = s.kind === 'started' ? s.pid : undefined;
      });
      reg.#targets.set(c.name, rt);
    }
    return reg;
  }

  get names(): string[] {
    return [...this.#targets.keys()];
  }

  all(): TargetRuntime[] {
    return [...this.#targets.values()];
  }

  has(name: string): boolean {
    return this.#targets.has(name);
  }

  get(name: string): TargetRuntime {
    const t = this.#targets.get(name);
    if (!t) throw new UnknownTargetError(name, this.names);
    return t;
  }

  /** The running targets' main processes (as their drivers last reported them): the roots of their process trees. */
  roots(): TargetRoot[] {
    return this.all().flatMap((t) => (t.running && t.pid ? [{ name: t.config.name, pid: t.pid }] : []));
  }

  /**
   * Starts every target. A target that cannot be started is logged and reported by its driver's
   * `start_failed` state (→ `events.target.exited` with the error), never thrown: the rest of the
   * stack keeps running and a later restart may succeed. Returns the names that failed.
   */
  async startAll(): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      this.all().map(async (t) => {
        try {
          await t.driver.start();
        } catch (e) {
          failed.push(t.config.name);
          this.log.warn({ target: t.config.name, err: e }, 'target not started');
        }
      }),
    );
    return failed;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all().map((t) => (t.driver.detach ? t.driver.detach() : t.driver.stop())));
  }
}
