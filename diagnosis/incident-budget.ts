/** What one incident has spent. */
export interface Spent {
  calls: number;
  tokens: number;
}

/**
 * The per-incident budget of provider calls and tokens: every call (retries and fallbacks
 * included) is charged to its incident; once either limit is reached no further call is made for
 * it. Incidents not charged for `forgetMs` are forgotten (memory stays bounded).
 */
export class IncidentBudget {
  readonly #spent = new Map<string, Spent & { at: number }>();

  constructor(
    readonly limits: { calls: number; tokens: number },
    private readonly forgetMs = 6 * 3600_000,
    private readonly keep = 10_000,
  ) {}

  spent(key: string): Spent {
    const s = this.#spent.get(key);
    return { calls: s?.calls ?? 0, tokens: s?.tokens ?? 0 };
  }

  /** Why no further call may be made for `key`; undefined while the budget allows one. */
  refusal(key: string): string | undefined {
    const s = this.spent(key);
    if (s.calls >= this.limits.calls) return `budget spent: ${s.calls} of ${this.limits.calls} calls for this incident`;
    if (s.tokens >= this.limits.tokens) return `budget spent: ${s.tokens} of ${this.limits.tokens} tokens for this incident`;
    return undefined;
  }

  charge(key: string, calls: number, tokens: number, now = Date.now()): void {
    const s = this.#spent.get(key) ?? { calls: 0, tokens: 0, at: now };
    s.calls += calls;
    s.tokens += tokens;
    s.at = now;
    this.#spent.delete(key);
    this.#spent.set(key, s);
    for (const [k, v] of this.#spent) {
      if (this.#spent.size <= this.keep && now - v.at < this.forgetMs) break;
      this.#spent.delete(k);
    }
  }
}
