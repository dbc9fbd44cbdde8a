import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DockerDriver, type DockerTargetConfig, type TargetRegistry } from '../targets/index.js';
import { ContainerRefusedError } from './errors.js';

/**
 * The one gate of the container actions: only registered docker targets are acted on (a protected
 * one is never restarted or throttled); `logs.clean` touches regular files inside the target's
 * declared log directory only — a `..` segment, a symbolic link anywhere on the way, or a path that
 * resolves elsewhere is refused. A refusal throws a `ContainerRefusedError` naming the rule.
 */
export class ContainerGuard {
  constructor(private readonly targets: TargetRegistry) {}

  /** The target's docker driver and config. */
  container(target: string, action: string, opts: { destructive?: boolean } = {}): { driver: DockerDriver; config: DockerTargetConfig } {
    const rt = this.targets.get(target);
    if (rt.config.driver !== 'docker' || !(rt.driver instanceof DockerDriver)) throw new ContainerRefusedError('not-a-container', action, `target ${target} has driver ${rt.config.driver}`);
    if (opts.destructive && rt.config.protected) throw new ContainerRefusedError('protected-target', action, `target ${target} is protected`);
    return { driver: rt.driver, config: rt.config };
  }

  /** Every docker target's container name (never pruned, whatever its label). */
  registeredContainers(): Set<string> {
    return new Set(this.targets.all().flatMap((t) => (t.config.driver === 'docker' ? [t.config.container ?? t.config.name] : [])));
  }

  /**
   * The regular files `logs.clean` may truncate: `path` (relative to the log directory, or absolute
   * inside it), or every regular file under the log directory when no path is given.
   */
  logFiles(target: string, path: string | undefined): { logDir: string; files: string[] } {
    const { config } = this.container(target, 'logs.clean');
    if (!config.logDir) throw new ContainerRefusedError('no-log-dir', 'logs.clean', `target ${target} declares no logDir`);
    const logDir = resolve(config.logDir);
    if (realpathSync(logDir) !== logDir) throw new ContainerRefusedError('symlink', 'logs.clean', `the log directory ${logDir} is reached through a symbolic link`);
    if (path === undefined) return { logDir, files: regularFilesUnder(logDir) };
    if (path.split(/[\\/]/).includes('..')) throw new ContainerRefusedError('dot-dot', 'logs.clean', `path ${JSON.stringify(path)}`);
    const full = isAbsolute(path) ? resolve(path) : resolve(logDir, path);
    const rel = relative(logDir, full);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new ContainerRefusedError('outside-log-dir', 'logs.clean', `${full} is not inside ${logDir}`);
    // no component from the log directory down may be a link
    let at = logDir;
    for (const part of rel.split(sep)) {
      at = join(at, part);
      if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink()) throw new ContainerRefusedError('symlink', 'logs.clean', `${at} is a symbolic link`);
    }
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (!st) return { logDir, files: [] };
    return { logDir, files: st.isDirectory() ? regularFilesUnder(full) : st.isFile() ? [full] : [] };
  }
}

/** Regular files under `dir`, never following a link. */
function regularFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...regularFilesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
