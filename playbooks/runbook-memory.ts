import type { LoadedPlaybook } from './loader.js';

/** One playbook's record for one event signature (the triggering event's subject). */
export interface RunbookOutcome {
  signature: string;
  playbook: string;
  runs: number;
  resolved: number;
  lastStatus: string;
}

/** Where a candidate stands: resolved last time, never tried here, or did not resolve last time. */
function standing(o: RunbookOutcome | undefined): number {
  if (!o) return 1;
  return o.lastStatus === 'resolved' ? 0 : 2;
}

/**
 * What the engine remembers of the runbook: for each event signature, how each playbook ended.
 * Seeded from the store's runbook at start and updated as runs end. Among matching playbooks
 * of equal priority it prefers the fix that worked last time, then one not yet tried, then the
 * best success rate; playbooks that did not resolve last time come last.
 */
export class RunbookMemory {
  readonly #bySignature = new Map<string, Map<string, RunbookOutcome>>();

  /** Seeds the memory (e.g. from `Store.runbook()`). */
  load(entries: readonly RunbookOutcome[]): void {
    for (const e of entries) this.#at(e.signature).set(e.playbook, { ...e });
  }

  /** A run of `playbook` for an event on `signature` ended with `status`. */
  record(signature: string, playbook: string, status: string): void {
    const m = this.#at(signature);
    const o = m.get(playbook) ?? { signature, playbook, runs: 0, resolved: 0, lastStatus: status };
    o.runs++;
    if (status === 'resolved') o.resolved++;
    o.lastStatus = status;
    m.set(playbook, o);
  }

  /** Every playbook's record for `signature` (what a diagnosis is shown). */
  outcomes(signature: string): RunbookOutcome[] {
    return [...(this.#bySignature.get(signature)?.values() ?? [])].map((o) => ({ ...o }));
  }

  outcome(signature: string, playbook: string): RunbookOutcome | undefined {
    return this.#bySignature.get(signature)?.get(playbook);
  }

  /**
   * Reorders the playbooks that tie at the top priority by their runbook standing; returns the
   * list unchanged (same array) when there is no tie or no history for the signature.
   */
  rank(signature: string, sorted: LoadedPlaybook[]): LoadedPlaybook[] {
    const known = this.#bySignature.get(signature);
    if (!known || sorted.length < 2) return sorted;
    const top = sorted[0]!.playbook.priority;
    const tied = sorted.filter((p) => p.playbook.priority === top);
    if (tied.length < 2) return sorted;
    const rate = (o: RunbookOutcome | undefined) => (o && o.runs ? o.resolved / o.runs : 0);
    const ranked = tied
      .map((p, i) => ({ p, i, o: known.get(p.playbook.name) }))
      .sort((a, b) => standing(a.o) - standing(b.o) || rate(b.o) - rate(a.o) || a.i - b.i)
      .map((x) => x.p);
    return [...ranked, ...sorted.slice(tied.length)];
  }

  #at(signature: string): Map<string, RunbookOutcome> {
    let m = this.#bySignature.get(signature);
    if (!m) {
      m = new Map();
      this.#bySignature.set(signature, m);
    }
    return m;
  }
}
