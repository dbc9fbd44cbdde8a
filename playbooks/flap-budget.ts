/** The answer of {@link takeBudget}. */
export type BudgetAnswer =
  | { ok: true }
  /** `first` is true for the first refusal since the budget ran out (publish and notify once). */
  | { ok: false; first: boolean; until: number };

/** The flap budget of one key (playbook + target): the run starts in the window, and whether the last ask was refused. */
export interface BudgetState {
  starts: number[];
  exhausted: boolean;
}

/**
 * Flap protection: at most `runs` run starts per key within a sliding window of `per` ms. Beyond
 * it, starts are refused until the oldest start leaves the window or the budget is reset. Pure:
 * returns the new state beside the answer (the caller stores it, see `TriggerGate`).
 */
export function takeBudget(state: BudgetState | undefined, runs: number, per: number, now: number): { state: BudgetState; answer: BudgetAnswer } {
  const starts = (state?.starts ?? []).filter((t) => t > now - per);
  if (starts.length < runs) return { state: { starts: [...starts, now], exhausted: false }, answer: { ok: true } };
  const first = !state?.exhausted;
  return { state: { starts, exhausted: true }, answer: { ok: false, first, until: starts[0]! + per } };
}
