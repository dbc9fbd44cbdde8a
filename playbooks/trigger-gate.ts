import { subjectMatches, type Envelope } from '../bus/index.js';
import { evaluateBool } from './expression.js';
import { FlapBudget } from './flap-budget.js';
import type { LoadedPlaybook } from './loader.js';
import type { RunbookMemory } from './runbook-memory.js';
import { render } from './template.js';

/** Why an event did or did not start a run of the playbook it matched. */
export type Admission =
  /** `delayMs`: the back-off wait before the run's first step (0: at once). */
  | { kind: 'start'; delayMs: number }
  | { kind: 'deduplicated'; key: string; untilMs: number }
  | { kind: 'cooldown'; untilMs: number }
  /** `first`: the budget has just run out (publish `events.playbook.budget_exhausted` and notify). */
  | { kind: 'budget_refused'; first: boolean; untilMs: number };

/** The result of matching one event against the library. */
export interface Selection {
  chosen: LoadedPlaybook | null;
  /** Names of every playbook that matched, highest priority first. */
  candidates: string[];
  /** Per playbook whose subject matched but that was passed over: why. */
  rejected: { playbook: string; reason: string }[];
  /** True when the runbook, not file order, decided between playbooks of equal priority. */
  byRunbook?: boolean;
}

const SEP = '\u0000';
const PRUNE_EVERY_MS = 1000;

/** Whether an event matches a playbook's trigger, and if not, which check failed and why. */
export interface TriggerMatch {
  ok: boolean;
  failed?: 'subject' | 'targets' | 'when';
  reason: string;
}

/** Checks an event against one playbook's trigger: subject, targets and `when`. */
export function matchTrigger(pb: LoadedPlaybook, env: Envelope<unknown>): TriggerMatch {
  const on = pb.playbook.on;
  const subject = env.subject ?? '';
  if (!subjectMatches(on.event, subject)) return { ok: false, failed: 'subject', reason: `subject "${subject}" does not match "${on.event}"` };
  return matchAfterSubject(pb, env);
}

/** A subject pattern split once: `*` matches one token, a final `>` one or more. */
const patternTokens = new WeakMap<LoadedPlaybook, string[]>();

function subjectMatchesTokens(pb: LoadedPlaybook, s: string[]): boolean {
  let p = patternTokens.get(pb);
  if (!p) {
    p = pb.playbook.on.event.split('.');
    patternTokens.set(pb, p);
  }
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length || (tok !== '*' && tok !== s[i])) return false;
  }
  return p.length === s.length;
}

function matchAfterSubject(pb: LoadedPlaybook, env: Envelope<unknown>): TriggerMatch {
  const on = pb.playbook.on;
  if (on.targets && !(env.target && on.targets.includes(env.target))) {
    return { ok: false, failed: 'targets', reason: `target "${env.target ?? '(none)'}" is not one of ${on.targets.join(', ')}` };
  }
  if (pb.when) {
    const r = evaluateBool(pb.when, { event: env });
    if (!r.value) return { ok: false, failed: 'when', reason: r.error ? `when "${on.when}" cannot be evaluated: ${r.error}` : `when "${on.when}" is false` };
  }
  return { ok: true, reason: 'subject, targets and when match' };
}

/**
 * The trigger side of the engine: which playbook an event selects (priority decides), and
 * whether that playbook may start a run now: dedupe key and window, cooldown after a run, and
 * the flap budget per target.
 */
export class TriggerGate {
  readonly #dedupe = new Map<string, number>();
  readonly #cooldown = new Map<string, number>();
  readonly #budget = new FlapBudget();
  /** Back-off per playbook + target: runs in a row and when the last one ended. */
  readonly #streak = new Map<string, { count: number; lastEnd: number }>();
  #lastPrune = 0;

  constructor(private playbooks: LoadedPlaybook[]) {}

  replace(playbooks: LoadedPlaybook[]): void {
    this.playbooks = playbooks;
  }

  /**
   * The playbook an event selects: the matching one with the highest priority; among equal
   * priorities, the one the runbook says worked last time (when a runbook memory is given).
   */
  select(env: Envelope<unknown>, runbook?: RunbookMemory): Selection {
    const matches: LoadedPlaybook[] = [];
    const rejected: Selection['rejected'] = [];
    const tokens = (env.subject ?? '').split('.');
    for (const p of this.playbooks) {
      if (!subjectMatchesTokens(p, tokens)) continue;
      const m = matchAfterSubject(p, env);
      if (m.ok) matches.push(p);
      else rejected.push({ playbook: p.playbook.name, reason: m.reason });
    }
    let ordered = matches;
    if (matches.length > 1) {
      matches.sort((a, b) => b.playbook.priority - a.playbook.priority);
      if (runbook) ordered = runbook.rank(env.subject ?? '', matches);
    }
    const candidates = ordered.map((m) => m.playbook.name);
    return { chosen: ordered[0] ?? null, candidates, rejected, byRunbook: ordered !== matches && ordered[0] !== matches[0] };
  }

  /** Whether `pb` may start a run for this event on `target` now; a start is taken from the budget. */
  admit(pb: LoadedPlaybook, env: Envelope<unknown>, target: string, now: number): Admission {
    this.#prune(now);
    const { name, on, budget } = pb.playbook;
    if (on.dedupe) {
      const key = dedupeKey(pb, env);
      if (key !== null) {
        const k = name + SEP + key;
        const until = this.#dedupe.get(k);
        if (until !== undefined && until > now) return { kind: 'deduplicated', key, untilMs: until };
        this.#dedupe.set(k, now + on.dedupe.window);
      }
    }
    const cool = this.#cooldown.get(name + SEP + target);
    if (cool !== undefined && cool > now) return { kind: 'cooldown', untilMs: cool };
    if (budget) {
      const b = this.#budget.take(name + SEP + target, budget.runs, budget.per, now);
      if (!b.ok) return { kind: 'budget_refused', first: b.first, untilMs: b.until };
    }
    return { kind: 'start', delayMs: this.#backoff(pb, target, now) };
  }

  /** The wait before a run that was just admitted: 0 for the first in a row, then initial × factor^(n-2), capped. */
  #backoff(pb: LoadedPlaybook, target: string, now: number): number {
    const b = pb.playbook.backoff;
    if (!b) return 0;
    const k = pb.playbook.name + SEP + target;
    const s = this.#streak.get(k);
    if (!s || now - s.lastEnd >= b.reset) {
      this.#streak.set(k, { count: 1, lastEnd: Number.POSITIVE_INFINITY });
      return 0;
    }
    s.count++;
    s.lastEnd = Number.POSITIVE_INFINITY;
    return Math.round(Math.min(b.max, b.initial * b.factor ** (s.count - 2)));
  }

  /** A run of `pb` on `target` ended: its cooldown starts now. */
  ended(pb: LoadedPlaybook, target: string, now: number): void {
    const c = pb.playbook.on.cooldown;
    if (c) this.#cooldown.set(pb.playbook.name + SEP + target, now + c);
    const s = this.#streak.get(pb.playbook.name + SEP + target);
    if (s) s.lastEnd = now;
  }

  /** Lifts the flap budget of `playbook` on `target`; says whether it was exhausted. */
  resetBudget(playbook: string, target: string): boolean {
    this.#streak.delete(playbook + SEP + target);
    return this.#budget.reset(playbook + SEP + target);
  }

  #prune(now: number): void {
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    for (const [k, until] of this.#dedupe) if (until <= now) this.#dedupe.delete(k);
    for (const [k, until] of this.#cooldown) if (until <= now) this.#cooldown.delete(k);
    const maxReset = Math.max(0, ...this.playbooks.map((p) => p.playbook.backoff?.reset ?? 0));
    for (const [k, s] of this.#streak) if (s.lastEnd <= now - maxReset) this.#streak.delete(k);
    const maxPer = Math.max(0, ...this.playbooks.map((p) => p.playbook.budget?.per ?? 0));
    this.#budget.prune(now, maxPer);
  }
}

/** The rendered dedupe key of an event, or null when the template names a field the event lacks. */
export function dedupeKey(pb: LoadedPlaybook, env: Envelope<unknown>): string | null {
  const d = pb.playbook.on.dedupe;
  if (!d) return null;
  try {
    const v = render(d.key, { event: env });
    return typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return null;
  }
}
