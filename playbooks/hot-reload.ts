import { formatProblem } from '../config/index.js';
import { subjects, type PlaybookInvalidData, type PlaybookReloadedData } from '../bus/index.js';
import type { PlaybookEngine } from './engine.js';
import { PlaybookWatcher } from './library.js';
import type { LoadedPlaybook, LoadOptions } from './loader.js';

/**
 * Keeps an engine's playbooks in step with their folder: a valid new version of a file replaces
 * the old one; an invalid one is logged and published on `events.playbook.invalid` and the old
 * version stays in force; an accepted change is published on `events.playbook.reloaded`. `load.served` (the actions the
 * running handlers serve) refuses a change naming an action none serves, as at start. Returns the function that stops watching.
 */
export function watchPlaybookLibrary(engine: PlaybookEngine, dir: string, load: LoadOptions, initial: LoadedPlaybook[], debounceMs?: number): () => void {
  const watcher = new PlaybookWatcher({
    dir,
    ...load,
    initial,
    debounceMs,
    log: engine.log.child({ component: 'playbook-watcher' }),
    apply: (playbooks) => engine.replacePlaybooks(playbooks),
    report: (o) => {
      if (o.kind !== 'invalid') {
        const done: PlaybookReloadedData = { file: o.file, playbook: o.playbook, change: o.kind };
        engine.bus.publish(subjects.event('playbook', 'reloaded'), 'playbook.reloaded', done);
        return;
      }
      const data: PlaybookInvalidData = { file: o.file, problems: o.problems.map(formatProblem), kept: o.kept };
      engine.bus.publish(subjects.event('playbook', 'invalid'), 'playbook.invalid', data);
    },
  }).start();
  return () => watcher.close();
}
