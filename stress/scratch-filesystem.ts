import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A small real filesystem a scenario needs (a disk that fills for real): a tmpfs of `size` bytes at `path`. */
export interface ScratchFilesystem {
  path: string;
  size: number;
}

/** Whether `path` is a mount point now (/proc/self/mountinfo). */
function mounted(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

async function unmount(path: string): Promise<void> {
  // lazy: a container that has not quite gone yet must not keep the mount
  if (mounted(path)) await run('umount', ['-l', path]).catch(() => undefined);
}

/**
 * Mounts a fresh tmpfs of each `size` at each `path` (a leftover mount there from a run that died is
 * unmounted first) and returns the function that unmounts them. Needs root (CAP_SYS_ADMIN): the
 * error says so. No shell: `mount` and `umount` are run with an argv.
 */
export async function mountScratch(filesystems: readonly ScratchFilesystem[]): Promise<() => Promise<void>> {
  const done: string[] = [];
  const release = async () => {
    for (const p of done.splice(0).reverse()) await unmount(p);
  };
  try {
    for (const fs of filesystems) {
      await unmount(fs.path);
      mkdirSync(fs.path, { recursive: true });
      try {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${fs.size},mode=0755`, 'tmpfs', fs.path]);
      } catch (e) {
        const why = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
        throw new Error(`cannot mount a ${fs.size}-byte tmpfs at ${fs.path} (${why}): the scenario needs a real small filesystem, which takes root (CAP_SYS_ADMIN)`, { cause: e });
      }
      done.push(fs.path);
    }
  } catch (e) {
    await release();
    throw e;
  }
  return release;
}
