/** Settings of one sustained-threshold detector; percentages 0–100, durations in ms. */
export interface ThresholdSettings {
  threshold: number;
  window: number;
  recovery: number;
}

export type ThresholdChange =
  | { kind: 'pressure'; since: number; heldMs: number; value: number }
  | { kind: 'recovered'; episodeMs: number; value: number };

/**
 * Decides when a value has been above its threshold for a whole window (one `pressure` per
 * episode) and when it has fallen back under the recovery threshold (`recovered`, ending the
 * episode). Pure: it sees only the samples it is fed, so tests drive it with a script.
 *
 * A sample is the average over `[at - intervalMs, at]`; the value counts as above since the start
 * of the first interval that was above, so with 1 s samples a 10 s window fires on the tenth.
 */
export class SustainedThreshold {
  #aboveSince: number | null = null;
  #episodeAt: number | null = null;

  constructor(readonly settings: ThresholdSettings) {}

  /** True while the last sample was above the threshold (an episode may be pending). */
  get above(): boolean {
    return this.#aboveSince !== null;
  }

  /** True between a `pressure` and its `recovered`. */
  get active(): boolean {
    return this.#episodeAt !== null;
  }

  update(at: number, intervalMs: number, value: number): ThresholdChange | null {
    const s = this.settings;
    if (value > s.threshold) {
      this.#aboveSince ??= at - intervalMs;
      const heldMs = at - this.#aboveSince;
      if (this.#episodeAt === null && heldMs >= s.window) {
        this.#episodeAt = at;
        return { kind: 'pressure', since: this.#aboveSince, heldMs, value };
      }
      return null;
    }
    this.#aboveSince = null;
    if (this.#episodeAt !== null && value < s.recovery) {
      const episodeMs = at - this.#episodeAt;
      this.#episodeAt = null;
      return { kind: 'recovered', episodeMs, value };
    }
    return null;
  }
}
