/** One alert or incident the intake took in, as `GET /alerts/recent` and `homeostat alerts` list it. */
export interface IntakeRecord {
  time: string;
  origin: 'alertmanager' | 'incident' | 'envelope';
  alertname: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
  /** The event it became (`events.alert.<name>`) and that event's envelope id. */
  subject: string;
  eventId: string;
  /** True when it was a re-send of an alert already taken in: nothing was published again. */
  duplicate: boolean;
}

export interface AlertLedgerOptions {
  /** How long an alert's key is remembered (default 24 h: longer than Alertmanager's default repeat_interval of 4 h). */
  ttlMs?: number;
  /** Keys remembered at most; the oldest go first (default 100,000). */
  maxKeys?: number;
  /** Intake records kept for `GET /alerts/recent` (default 500). */
  recent?: number;
}

/**
 * Remembers which alerts were already published, by key (fingerprint + startsAt + status, or the
 * incident id), so a re-send after the stream's 2-minute duplicate window still starts no second
 * run. In memory: a restarted intake relies on the stream's duplicate window alone.
 */
export class AlertLedger {
  readonly #seen = new Map<string, number>();
  readonly #recent: IntakeRecord[] = [];
  readonly #ttl: number;
  readonly #max: number;
  readonly #recentMax: number;
  /** Counters: taken in, duplicates. */
  readonly stats = { accepted: 0, duplicates: 0 };

  constructor(opts: AlertLedgerOptions = {}) {
    this.#ttl = opts.ttlMs ?? 24 * 3_600_000;
    this.#max = opts.maxKeys ?? 100_000;
    this.#recentMax = opts.recent ?? 500;
  }

  /** True when `key` was published within the TTL. */
  seen(key: string, now = Date.now()): boolean {
    const at = this.#seen.get(key);
    if (at === undefined) return false;
    if (now - at > this.#ttl) {
      this.#seen.delete(key);
      return false;
    }
    return true;
  }

  /** Remembers a published key and records the intake. */
  record(key: string, rec: IntakeRecord, now = Date.now()): void {
    if (rec.duplicate) this.stats.duplicates++;
    else this.stats.accepted++;
    if (!this.seen(key, now)) {
      this.#seen.set(key, now);
      while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.#recent.push(rec);
    if (this.#recent.length > this.#recentMax) this.#recent.splice(0, this.#recent.length - this.#recentMax);
  }

  /** The most recent intake, newest last. */
  recent(limit = 50): IntakeRecord[] {
    return this.#recent.slice(-limit);
  }
}
