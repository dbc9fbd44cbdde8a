import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Credentials } from '../bus/index.js';
import { freePort } from '../bus/index.js';
import { projectRoot } from '../config/settings.js';
import type { TargetConfig } from './config.js';
import type { TargetDriver } from './driver.js';
import { UnknownTargetError } from './errors.js';
import { ProcessDriver } from './process-driver.js';

export interface TargetRuntime {
  config: TargetConfig;
  driver: TargetDriver;
  intervalMs: number;
  misses: number;
}

export interface RegistryOptions {
  /** Credentials of the `target` role, handed to built-in targets. */
  targetCredentials: Credentials;
  log: Logger;
}

/** The registered targets and their drivers. */
export class TargetRegistry {
  readonly #targets = new Map<string, TargetRuntime>();

  private constructor() {}

  static async create(configs: TargetConfig[], opts: RegistryOptions): Promise<TargetRegistry> {
    const reg = new TargetRegistry();
    for (const c of configs) {
      const driver = await createDriver(c, opts);
      reg.#targets.set(c.name, { config: c, driver, intervalMs: c.heartbeat.interval, misses: c.heartbeat.misses });
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

  async startAll(): Promise<void> {
    await Promise.all(this.all().map((t) => t.driver.start()));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all().map((t) => t.driver.stop()));
  }
}

async function createDriver(c: TargetConfig, opts: RegistryOptions): Promise<TargetDriver> {
  const log = opts.log;
  if (c.builtin === 'demo-worker') {
    const port = c.port === 'auto' ? await freePort() : c.port;
    return new ProcessDriver(
      {
        name: c.name,
        command: process.execPath,
        args: [join(projectRoot(), 'dist', 'targets', 'demo-worker.js')],
        env: {
          ...c.env,
          PORT: String(port),
          HOMEOSTAT_TARGET_NAME: c.name,
          HOMEOSTAT_HEARTBEAT_MS: String(c.heartbeat.interval),
          HOMEOSTAT_NATS_URL: opts.targetCredentials.url,
          ...(opts.targetCredentials.user ? { HOMEOSTAT_NATS_USER: opts.targetCredentials.user } : {}),
          ...(opts.targetCredentials.password ? { HOMEOSTAT_NATS_PASSWORD: opts.targetCredentials.password } : {}),
        },
        cwd: c.cwd,
        healthUrl: c.health?.url ?? `http://127.0.0.1:${port}/health`,
        stopGraceMs: c.stopGrace,
        critical: c.critical,
        protected: c.protected,
      },
      log,
    );
  }
  return new ProcessDriver(
    {
      name: c.name,
      command: c.command!,
      args: c.args,
      env: c.env,
      cwd: c.cwd,
      healthUrl: c.health?.url,
      stopGraceMs: c.stopGrace,
      critical: c.critical,
      protected: c.protected,
    },
    log,
  );
}
