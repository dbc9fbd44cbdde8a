/** The answer of {@link FlapBudget.take}. */
export type BudgetAnswer =
  | { ok: true }
  /** `first` is true for the first refusal since the budget ran out (publish and notify once). */
  | { ok: false; first: boolean; until: number };

interface BudgetState {
  starts: number[];
  exhausted: boolean;
}

/**
 * Flap protection: at most `runs` run starts per key (playbook + target) within a sliding window
 * of `per` ms. Beyond it, starts are refused until the oldest start leaves the window or
 * {@link FlapBudget.reset} is called.
 */
export class FlapBudget {
  readonly #state = new Map<string, BudgetState>();

  /** Takes one run from the budget of `key` when it has one left. */
  take(key: string, runs: number, per: number, now: number): BudgetAnswer {
    let s = this.#state.get(key);
    if (!s) {
      s = { starts: [], exhausted: false };
      this.#state.set(key, s);
    }
    while (s.starts.length && s.starts[0]! <= now - per) s.starts.shift();
    if (s.starts.length < runs) {
      s.starts.push(now);
      s.exhausted = false;
      return { ok: true };
    }
    const first = !s.exhausted;
    s.exhausted = true;
    return { ok: false, first, until: s.starts[0]! + per };
  }

  /** True while `key` is refused. */
  isExhausted(key: string, per: number, now: number): boolean {
    const s = this.#state.get(key);
    return Boolean(s?.exhausted && s.starts.length && s.starts[0]! > now - per);
  }

  /** Forgets the starts of `key`; says whether it was exhausted. */
  reset(key: string): boolean {
    const s = this.#state.get(key);
    this.#state.delete(key);
    return s?.exhausted ?? false;
  }

  /** Drops keys whose starts all left a window of `maxPer` ms. */
  prune(now: number, maxPer: number): void {
    for (const [k, s] of this.#state) if (!s.starts.length || s.starts[s.starts.length - 1]! <= now - maxPer) this.#state.delete(k);
  }
}
