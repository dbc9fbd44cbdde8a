import { AclViolationData, subjects, type AclViolationSource, type BusClient } from '../bus/index.js';

const MAX_SUBJECTS = 32;

/** What the handlers know of one actor's violations. */
export interface ActorViolations {
  actor: string;
  count: number;
  publish: number;
  subscribe: number;
  subjects: Map<string, number>;
  firstAt: string;
  lastAt: string;
  /** `Date.now()` when the last violation arrived. */
  lastSeenMs: number;
}

/**
 * The handlers' view of `acl.violation`: per-actor counts, subjects and the time of the last
 * violation, for `acl.assess` and `acl.quiet`. Bounded: at most `maxActors` actors (least
 * recently seen forgotten first) and 32 subjects each.
 */
export class ViolationLedger {
  readonly #actors = new Map<string, ActorViolations>();

  constructor(
    bus: BusClient,
    /** Which sources count (the same choice as the ACL monitor's, so nothing counts twice). */
    sources: readonly AclViolationSource[],
    private readonly maxActors = 10_000,
  ) {
    const wanted = new Set(sources);
    bus.subscribe(subjects.aclViolation, AclViolationData, (env) => {
      if (wanted.has(env.data.source)) this.record(env.data);
    });
  }

  record(v: AclViolationData): void {
    let a = this.#actors.get(v.actor);
    if (a) this.#actors.delete(v.actor);
    else a = { actor: v.actor, count: 0, publish: 0, subscribe: 0, subjects: new Map(), firstAt: v.time, lastAt: v.time, lastSeenMs: 0 };
    this.#actors.set(v.actor, a);
    a.count++;
    a[v.operation]++;
    a.lastAt = v.time;
    a.lastSeenMs = Date.now();
    if (a.subjects.has(v.subject) || a.subjects.size < MAX_SUBJECTS) a.subjects.set(v.subject, (a.subjects.get(v.subject) ?? 0) + 1);
    if (this.#actors.size > this.maxActors) {
      const oldest = this.#actors.keys().next();
      if (!oldest.done) this.#actors.delete(oldest.value);
    }
  }

  get(actor: string): ActorViolations | undefined {
    return this.#actors.get(actor);
  }
}
