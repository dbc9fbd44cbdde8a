import { closeSync, constants, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { z } from 'zod';
import { diskUsedPct, DockerEngine, HOMEOSTAT_LABEL } from '../targets/index.js';
import { declareAction, defineAction } from './action.js';
import type { ContainerGuard } from './container-guard.js';

const TargetParam = z.object({ target: z.string().min(1) }).strict();

export const containerRestartSpec = declareAction({
  name: 'container.restart',
  description: "Restart a docker target's container (stop with its grace, start) through the docker driver.",
  params: TargetParam,
  returns: '`{ target, container, previousPid, pid, status }`',
  risk: 'medium',
  idempotent: false,
  probe: false,
});

export const containerExecSpec = declareAction({
  name: 'container.exec',
  description: "Run an argv (never a shell string) inside a docker target's container; stdout and stderr demultiplexed, each bounded with a truncation marker.",
  params: z
    .object({
      target: z.string().min(1),
      argv: z.array(z.string()).min(1).describe('The command and its arguments.'),
      timeoutMs: z.number().int().positive().max(300_000).default(10_000),
      maxOutputBytes: z.number().int().positive().max(1_048_576).default(65_536),
    })
    .strict(),
  returns: '`{ target, exitCode, timedOut, truncated }` with stdout/stderr in the result envelope',
  risk: 'high',
  idempotent: false,
  probe: false,
});

export const logsCleanSpec = declareAction({
  name: 'logs.clean',
  description: "Truncate files inside a docker target's declared log directory (never through `..` or a symbolic link); reports bytes freed and disk use after.",
  params: z
    .object({
      target: z.string().min(1),
      path: z.string().min(1).optional().describe('A file or folder inside the log directory (relative to it); default all of it.'),
    })
    .strict(),
  returns: '`{ target, logDir, files, bytesFreed, usedPctBefore, usedPctAfter }`',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

export const containersPruneSpec = declareAction({
  name: 'containers.prune',
  description: "Remove exited containers carrying Homeostat's label on a docker target's engine (never a registered target's container).",
  params: TargetParam,
  returns: '`{ target, removed: [names], count }`',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

export const containerCpuLimitSpec = declareAction({
  name: 'container.cpu_limit',
  description: "Set a docker target's CPU limit (as it was started: NanoCpus for --cpus, else a CPU quota).",
  params: z.object({ target: z.string().min(1), cpus: z.number().positive().max(1024) }).strict(),
  returns: '`{ target, cpus, via }`',
  risk: 'medium',
  idempotent: true,
  probe: false,
});

export const containerStateSpec = declareAction({
  name: 'container.state',
  description: "Probe a docker target's container: its state as inspect reports it and its log directory's disk use.",
  params: TargetParam,
  returns: '`{ target, running, status, exitCode, oomKilled, health, pid, logDirUsedPct }`',
  risk: 'low',
  idempotent: true,
  probe: true,
});

/** `container.restart`. */
export function containerRestart(guard: ContainerGuard) {
  return defineAction({
    ...containerRestartSpec,
    async run(p) {
      const { driver } = guard.container(p.target, 'container.restart', { destructive: true });
      // the last pid the driver saw (no inspect: a crashed container, the usual case, has none)
      const before = driver.pid ?? null;
      await driver.restart();
      const after = await driver.status();
      return { result: { target: p.target, container: driver.container, previousPid: before, pid: after.pid ?? null, status: after.container?.status ?? null } };
    },
  });
}

/** `container.exec`. */
export function containerExec(guard: ContainerGuard) {
  return defineAction({
    ...containerExecSpec,
    async run(p) {
      const { driver } = guard.container(p.target, 'container.exec');
      const r = await driver.exec(p.argv, { timeoutMs: p.timeoutMs, maxOutputBytes: p.maxOutputBytes });
      if (r.error) throw new Error(`exec in ${driver.container} failed: ${r.error}`);
      return { result: { target: p.target, exitCode: r.exitCode, timedOut: r.timedOut, truncated: r.truncated ?? false }, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
  });
}

/** `logs.clean`: each file opened without following a link and truncated to zero. */
export function logsClean(guard: ContainerGuard) {
  return defineAction({
    ...logsCleanSpec,
    async run(p) {
      const { logDir, files } = guard.logFiles(p.target, p.path);
      const usedPctBefore = diskUsedPct(logDir);
      let bytesFreed = 0;
      for (const f of files) {
        const fd = openSync(f, constants.O_WRONLY | constants.O_NOFOLLOW);
        try {
          bytesFreed += fstatSync(fd).size;
          ftruncateSync(fd, 0);
        } finally {
          closeSync(fd);
        }
      }
      const usedPctAfter = diskUsedPct(logDir);
      return {
        result: { target: p.target, logDir, files: files.length, bytesFreed, usedPctBefore, usedPctAfter },
        stdout: `truncated ${files.length} file(s) in ${logDir}: ${bytesFreed} bytes freed; disk ${usedPctBefore} % → ${usedPctAfter} %`,
      };
    },
  });
}

/** `containers.prune`: exited containers with Homeostat's label, re-checked one by one before removal. */
export function containersPrune(guard: ContainerGuard) {
  return defineAction({
    ...containersPruneSpec,
    async run(p, ctx) {
      const { config } = guard.container(p.target, 'containers.prune');
      const docker = DockerEngine.of(config.socket, ctx.log).docker;
      const keep = guard.registeredContainers();
      const list = await docker.listContainers({ all: true, filters: { label: [HOMEOSTAT_LABEL], status: ['exited', 'dead'] } });
      const removed: string[] = [];
      for (const c of list) {
        const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
        if (keep.has(name) || c.Labels[HOMEOSTAT_LABEL] === undefined || (c.State !== 'exited' && c.State !== 'dead')) continue;
        await docker.getContainer(c.Id).remove();
        removed.push(name);
      }
      return { result: { target: p.target, removed, count: removed.length }, stdout: `removed ${removed.length} exited container(s)` };
    },
  });
}

/** `container.cpu_limit`. */
export function containerCpuLimit(guard: ContainerGuard) {
  return defineAction({
    ...containerCpuLimitSpec,
    async run(p) {
      const { driver } = guard.container(p.target, 'container.cpu_limit', { destructive: true });
      const r = await driver.updateLimits({ cpus: p.cpus });
      return { result: { target: p.target, cpus: p.cpus, via: r.via } };
    },
  });
}

/** `container.state` (a probe). */
export function containerState(guard: ContainerGuard) {
  return defineAction({
    ...containerStateSpec,
    async run(p) {
      const { driver, config } = guard.container(p.target, 'container.state');
      const s = await driver.status();
      return {
        result: {
          target: p.target,
          running: s.running,
          status: s.container?.status ?? null,
          exitCode: s.container?.exitCode ?? null,
          oomKilled: s.container?.oomKilled ?? false,
          health: s.container?.health ?? null,
          pid: s.pid ?? null,
          logDirUsedPct: config.logDir ? diskUsedPct(config.logDir) : null,
        },
      };
    },
  });
}
