import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigFileError, formatProblem, type FileProblem } from '../config/index.js';
import { loadPlaybookFile, unknownChoices, type LoadedPlaybook, type LoadOptions } from './loader.js';

const PLAYBOOK_FILE = /\.ya?ml$/;

function playbookFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => PLAYBOOK_FILE.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Loads every `*.yaml`/`*.yml` in a folder; refuses the lot when any is invalid or two share a name. */
export function loadPlaybookDir(dir: string, opts: LoadOptions): LoadedPlaybook[] {
  const out: LoadedPlaybook[] = [];
  const problems: FileProblem[] = [];
  for (const f of playbookFiles(dir)) {
    try {
      const pb = loadPlaybookFile(f, opts);
      const dup = out.find((o) => o.playbook.name === pb.playbook.name);
      if (dup) problems.push({ file: f, line: 1, col: 1, field: 'name', message: `"${pb.playbook.name}" is already defined in ${dup.file}` });
      else out.push(pb);
    } catch (e) {
      if (e instanceof ConfigFileError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (!problems.length) problems.push(...unknownChoices(out));
  if (problems.length) throw new ConfigFileError(dir, problems);
  return out;
}

/** What a reload did to one file. */
export type ReloadOutcome =
  | { file: string; kind: 'loaded'; playbook: string }
  | { file: string; kind: 'removed'; playbook: string }
  | { file: string; kind: 'invalid'; problems: FileProblem[]; kept?: string };

export interface PlaybookWatcherOptions extends LoadOptions {
  dir: string;
  /** The playbooks in force at start (from {@link loadPlaybookDir}). */
  initial: LoadedPlaybook[];
  /** Called with the whole new set after every accepted change. */
  apply(playbooks: LoadedPlaybook[]): void;
  /** Called for every file a change touched (accepted or refused). */
  report?(outcome: ReloadOutcome): void;
  log: Logger;
  /** Quiet time after the last file event before reloading (editors write in bursts). */
  debounceMs?: number;
}

/**
 * Hot reload of a playbook folder. A changed file is re-read and checked on its own: a valid
 * new version replaces the old one, an invalid one is reported and the old version stays in
 * force; a deleted file's playbook is withdrawn. Runs already started keep the version they
 * started with.
 */
export class PlaybookWatcher {
  readonly #byFile = new Map<string, LoadedPlaybook>();
  readonly #pending = new Set<string>();
  /** Files refused last time; retried after an accepted change (a name may have been freed). */
  readonly #refused = new Set<string>();
  readonly #opts: PlaybookWatcherOptions;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: PlaybookWatcherOptions) {
    this.#opts = opts;
    for (const p of opts.initial) this.#byFile.set(p.file, p);
  }

  /** Starts watching the folder. */
  start(): this {
    this.#watcher = watch(this.#opts.dir, (_event, name) => {
      if (!name || !PLAYBOOK_FILE.test(name.toString()) || name.toString().startsWith('.')) return;
      this.#pending.add(join(this.#opts.dir, basename(name.toString())));
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.reload(), this.#opts.debounceMs ?? 100);
    });
    this.#watcher.on('error', (err) => this.#opts.log.error({ err, dir: this.#opts.dir }, 'playbook folder watch failed'));
    return this;
  }

  /** The playbooks in force. */
  get playbooks(): LoadedPlaybook[] {
    return [...this.#byFile.values()];
  }

  /** Re-reads the files that changed since the last reload (all files when none is pending). */
  reload(files: string[] = [...this.#pending]): ReloadOutcome[] {
    this.#timer = null;
    this.#pending.clear();
    const outcomes = files.map((f) => this.#reloadFile(f)).filter((o): o is ReloadOutcome => o !== null);
    if (outcomes.some((o) => o.kind !== 'invalid')) {
      for (const f of [...this.#refused].filter((x) => !files.includes(x))) {
        const o = this.#reloadFile(f);
        if (o && o.kind !== 'invalid') outcomes.push(o);
      }
      this.#opts.apply(this.playbooks);
    }
    for (const o of outcomes) {
      if (o.kind === 'invalid') this.#refused.add(o.file);
      else this.#refused.delete(o.file);
    }
    for (const o of outcomes) {
      if (o.kind === 'invalid') {
        this.#opts.log.error({ file: o.file, problems: o.problems.map(formatProblem), kept: o.kept }, 'playbook change refused; the previous version stays in force');
      } else {
        this.#opts.log.info({ file: o.file, playbook: o.playbook }, o.kind === 'loaded' ? 'playbook (re)loaded' : 'playbook withdrawn');
      }
      this.#opts.report?.(o);
    }
    return outcomes;
  }

  #reloadFile(file: string): ReloadOutcome | null {
    const old = this.#byFile.get(file);
    if (!existsSync(file)) {
      this.#refused.delete(file);
      if (!old) return null;
      this.#byFile.delete(file);
      return { file, kind: 'removed', playbook: old.playbook.name };
    }
    try {
      const pb = loadPlaybookFile(file, this.#opts);
      const dup = [...this.#byFile.values()].find((o) => o.file !== file && o.playbook.name === pb.playbook.name);
      if (dup) {
        return { file, kind: 'invalid', kept: old?.playbook.name, problems: [{ file, line: 1, col: 1, field: 'name', message: `"${pb.playbook.name}" is already defined in ${dup.file}` }] };
      }
      this.#byFile.set(file, pb);
      return { file, kind: 'loaded', playbook: pb.playbook.name };
    } catch (e) {
      if (!(e instanceof ConfigFileError)) throw e;
      return { file, kind: 'invalid', problems: e.problems, kept: old?.playbook.name };
    }
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
