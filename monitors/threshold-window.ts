/**
 * "At least `count` occurrences within `windowMs`", in constant memory: a ring of the last
 * `count` timestamps. The condition holds at time t exactly when the `count`-th newest
 * occurrence is later than t − windowMs, however many occurrences there were.
 */
export class ThresholdWindow {
  readonly #ring: Float64Array;
  #next = 0;
  #filled = 0;

  constructor(
    readonly count: number,
    readonly windowMs: number,
  ) {
    this.#ring = new Float64Array(count);
  }

  /** Records one occurrence at `t` (ms); returns whether the threshold holds at `t`. */
  add(t: number): boolean {
    this.#ring[this.#next] = t;
    this.#next = (this.#next + 1) % this.count;
    if (this.#filled < this.count) this.#filled++;
    return this.holds(t);
  }

  /** True when at least `count` occurrences fall within (t − windowMs, t]. */
  holds(t: number): boolean {
    if (this.#filled < this.count) return false;
    // with a full ring, #next points at the oldest of the last `count`
    return t - this.#ring[this.#next]! < this.windowMs;
  }

  /** Until when the threshold holds without a new occurrence (−Infinity before `count` occurrences). */
  heldUntil(): number {
    return this.#filled < this.count ? -Infinity : this.#ring[this.#next]! + this.windowMs;
  }

  /** Occurrences within (t − windowMs, t], up to `count`. */
  within(t: number): number {
    let n = 0;
    for (let i = 0; i < this.#filled; i++) if (t - this.#ring[i]! < this.windowMs) n++;
    return n;
  }
}
