import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Credentials } from '../bus/index.js';
import { freePort } from '../bus/index.js';
import { projectRoot } from '../config/settings.js';
import type { TargetConfig } from './config.js';
import type { TargetDriver } from './driver.js';
import { TargetError } from './errors.js';
import { ProcessDriver } from './process-driver.js';
import { DockerDriver } from './docker-driver.js';

export interface DriverContext {
  /** Credentials of the `target` role, handed to built-in targets. */
  targetCredentials: Credentials;
  /** Where drivers keep per-target runtime files (pid files): `<stack dir>/targets`. */
  runtimeDir?: string;
  log: Logger;
}

/** A created driver and the TCP port the target listens on, when known. */
export interface CreatedDriver {
  driver: TargetDriver;
  port?: number;
}

type DriverFactory<C extends TargetConfig> = (c: C, ctx: DriverContext) => Promise<CreatedDriver>;

/**
 * The drivers, keyed by the `driver:` field of `targets.yaml`. A new driver (`docker`) is one
 * file with its factory, one entry here and one branch of `TargetSchema`.
 */
export const DRIVERS: { [K in TargetConfig['driver']]: DriverFactory<Extract<TargetConfig, { driver: K }>> } = {
  process: createProcessDriver,
  docker: async (c, ctx) => ({ driver: new DockerDriver(c, ctx.log), port: c.port }),
};

export function createDriver(c: TargetConfig, ctx: DriverContext): Promise<CreatedDriver> {
  return (DRIVERS[c.driver] as DriverFactory<TargetConfig>)(c, ctx);
}

async function createProcessDriver(c: Extract<TargetConfig, { driver: 'process' }>, ctx: DriverContext): Promise<CreatedDriver> {
  const common = {
    name: c.name,
    cwd: c.cwd,
    stopGraceMs: c.stopGrace,
    critical: c.critical,
    protected: c.protected,
    pidDir: ctx.runtimeDir,
  };
  if (c.builtin === 'demo-worker') {
    const port = c.port === 'auto' ? await freePort() : c.port;
    const beat = c.checks.find((k) => k.kind === 'heartbeat');
    const creds = ctx.targetCredentials;
    const driver = new ProcessDriver(
      {
        ...common,
        command: process.execPath,
        args: [join(projectRoot(), 'dist', 'targets', 'demo-worker.js')],
        env: {
          ...c.env,
          PORT: String(port),
          HOMEOSTAT_TARGET_NAME: c.name,
          HOMEOSTAT_HEARTBEAT_MS: String(beat?.interval ?? 100),
          HOMEOSTAT_NATS_URL: creds.url,
          ...(creds.user ? { HOMEOSTAT_NATS_USER: creds.user } : {}),
          ...(creds.password ? { HOMEOSTAT_NATS_PASSWORD: creds.password } : {}),
        },
      },
      ctx.log,
    );
    return { driver, port };
  }
  if (c.builtin === 'postgres') {
    const port = c.port as number;
    const check = c.checks.find((k) => k.kind === 'postgres');
    const driver = new ProcessDriver(
      {
        ...common,
        command: process.execPath,
        args: [join(projectRoot(), 'dist', 'targets', 'postgres-cluster.js')],
        env: {
          ...c.env,
          HOMEOSTAT_PGDATA: join(runtimeDirOf(c.name, ctx), `${c.name}.pgdata`),
          PG_PORT: String(port),
          PG_ARGS: JSON.stringify(c.args),
          ...(check?.kind === 'postgres' && check.appRole ? { PG_APP_ROLE: check.appRole } : {}),
        },
      },
      ctx.log,
    );
    return { driver, port };
  }
  const driver = new ProcessDriver({ ...common, command: c.command!, args: c.args, env: c.env }, ctx.log);
  return { driver, port: c.port === 'auto' ? undefined : c.port };
}

/** The run dir's `targets/`: the postgres builtin keeps its cluster there, never elsewhere. */
function runtimeDirOf(name: string, ctx: DriverContext): string {
  if (!ctx.runtimeDir) throw new TargetError('TARGET_NO_RUN_DIR', `target "${name}": the postgres builtin needs the stack's run dir for its data directory`);
  return ctx.runtimeDir;
}
