import { createHash } from 'node:crypto';
import { recordKey, subjectMatches, type Envelope, type RecordChange } from '../bus/index.js';
import { evaluateBool } from './expression.js';
import { takeBudget } from './flap-budget.js';
import { memoryTriggerState, type TargetTriggerState, type TriggerState } from './trigger-state.js';
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
 * whether that playbook may start a run now: dedupe key and window, cooldown after a run, the
 * flap budget and the back-off streak per playbook + target. That state lives in a
 * {@link TriggerState} (a KV bucket in a stack: shared by engines, kept across restarts); each
 * decision is one atomic change of its record.
 */
export class TriggerGate {
  readonly #state: TriggerState;
  /**
   * Refusals known to hold until a time, by record key: a dedupe window or a cooldown is only ever
   * extended by another engine, and a refused budget only lifted by a reset (which every engine
   * hears), so an event inside them is refused here without asking the store again.
   */
  readonly #refused = new Map<string, Admission & { kind: 'deduplicated' | 'cooldown' | 'budget_refused' }>();

  constructor(
    private playbooks: LoadedPlaybook[],
    state?: TriggerState,
  ) {
    this.#state = state ?? memoryTriggerState();
  }

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

  /**
   * Whether `pb` may start a run for this event on `target` now; a start is taken from the budget
   * and stored before this resolves. Callers keep one admission per target at a time.
   */
  async admit(pb: LoadedPlaybook, env: Envelope<unknown>, target: string, now: number): Promise<Admission> {
    const { name, on, budget } = pb.playbook;
    if (on.dedupe) {
      const key = dedupeKey(pb, env);
      if (key !== null) {
        const dk = `dedupe.${recordKey(name, dedupeRecordPart(key))}`;
        const known = this.#known(dk, now);
        if (known) return known;
        const window = on.dedupe.window;
        const until = await this.#state.dedupe.update(recordKey(name, dedupeRecordPart(key)), (cur) =>
          cur && cur.until > now ? { result: cur.until } : { next: { until: now + window }, result: null, expiresAt: now + window },
        );
        // this event opened the window: the next ones with the key are refused here until it closes
        this.#remember(dk, { kind: 'deduplicated', key, untilMs: until ?? now + window });
        if (until !== null) return { kind: 'deduplicated', key, untilMs: until };
      }
    }
    const tk = `target.${recordKey(name, target)}`;
    const known = this.#known(tk, now);
    if (known) return known;
    const answer = await this.#state.targets.update(recordKey(name, target), (cur): RecordChange<TargetTriggerState, Admission> => {
      const s: TargetTriggerState = cur ?? { starts: [], exhausted: false };
      if (s.cooldownUntil !== undefined && s.cooldownUntil > now) return { result: { kind: 'cooldown', untilMs: s.cooldownUntil } };
      let next: TargetTriggerState = s;
      if (budget) {
        const b = takeBudget(s, budget.runs, budget.per, now);
        next = { ...s, ...b.state };
        if (!b.answer.ok) {
          const refused: Admission = { kind: 'budget_refused', first: b.answer.first, untilMs: b.answer.until };
          return b.answer.first ? { next, result: refused, ...this.#expiry(pb, next) } : { result: refused };
        }
      }
      const { streak, delayMs } = backoffStep(pb, next.streak, now);
      next = { ...next, ...(streak ? { streak } : {}) };
      return { next, result: { kind: 'start', delayMs }, ...this.#expiry(pb, next) };
    });
    if (answer.kind === 'cooldown') this.#remember(tk, answer);
    else if (answer.kind === 'budget_refused') this.#remember(tk, { ...answer, first: false });
    return answer;
  }

  #known(key: string, now: number): Admission | undefined {
    const r = this.#refused.get(key);
    if (!r) return undefined;
    if (r.untilMs > now) return r;
    this.#refused.delete(key);
    return undefined;
  }

  #remember(key: string, refusal: Admission & { kind: 'deduplicated' | 'cooldown' | 'budget_refused' }): void {
    if (this.#refused.size >= 10_000) {
      const now = Date.now();
      for (const [k, r] of this.#refused) if (r.untilMs <= now) this.#refused.delete(k);
    }
    this.#refused.set(key, refusal);
  }

  /** A run of `pb` on `target` ended: its cooldown starts now, and its back-off streak notes the end. */
  async ended(pb: LoadedPlaybook, target: string, now: number): Promise<void> {
    const c = pb.playbook.on.cooldown;
    if (c) this.#remember(`target.${recordKey(pb.playbook.name, target)}`, { kind: 'cooldown', untilMs: now + c });
    await this.#state.targets.update(recordKey(pb.playbook.name, target), (cur) => {
      if (!c && !cur?.streak) return { result: undefined };
      const s: TargetTriggerState = cur ?? { starts: [], exhausted: false };
      const next: TargetTriggerState = { ...s, ...(c ? { cooldownUntil: now + c } : {}), ...(s.streak ? { streak: { ...s.streak, lastEnd: now } } : {}) };
      return { next, result: undefined, ...this.#expiry(pb, next) };
    });
  }

  /** Lifts the flap budget of `playbook` on `target` (and its back-off streak); says whether it was exhausted. */
  resetBudget(playbook: string, target: string): Promise<boolean> {
    const known = this.#refused.get(`target.${recordKey(playbook, target)}`);
    if (known?.kind === 'budget_refused') this.#refused.delete(`target.${recordKey(playbook, target)}`);
    return this.#state.targets.update(recordKey(playbook, target), (cur) => {
      if (!cur) return { result: false };
      const next: TargetTriggerState = { ...cur, starts: [], exhausted: false };
      delete next.streak;
      return { next, result: cur.exhausted };
    });
  }

  /** When the record of `pb` on a target stops meaning anything (none while a back-off run is going on). */
  #expiry(pb: LoadedPlaybook, s: TargetTriggerState): { expiresAt?: number } {
    const ends: number[] = [];
    if (s.cooldownUntil !== undefined) ends.push(s.cooldownUntil);
    const last = s.starts[s.starts.length - 1];
    if (last !== undefined) ends.push(last + (pb.playbook.budget?.per ?? 0));
    if (s.streak) {
      if (s.streak.lastEnd === null) return {};
      ends.push(s.streak.lastEnd + (pb.playbook.backoff?.reset ?? 0));
    }
    return ends.length ? { expiresAt: Math.max(...ends) } : {};
  }
}

/**
 * The back-off of a run just admitted: 0 for the first in a row, then initial × factor^(n-2),
 * capped; a streak whose last run ended `reset` ago or more starts again. `lastEnd` null: a run of
 * the streak is going on.
 */
function backoffStep(pb: LoadedPlaybook, s: TargetTriggerState['streak'], now: number): { streak?: NonNullable<TargetTriggerState['streak']>; delayMs: number } {
  const b = pb.playbook.backoff;
  if (!b) return { delayMs: 0 };
  if (!s || (s.lastEnd !== null && now - s.lastEnd >= b.reset)) return { streak: { count: 1, lastEnd: null }, delayMs: 0 };
  const count = s.count + 1;
  return { streak: { count, lastEnd: null }, delayMs: Math.round(Math.min(b.max, b.initial * b.factor ** (count - 2))) };
}

/** A dedupe key as one record key part: long keys are hashed. */
function dedupeRecordPart(key: string): string {
  return key.length > 128 ? `sha256-${createHash('sha256').update(key).digest('hex')}` : key;
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
