import { readFileSync } from 'node:fs';
import ms from 'ms';
import { z } from 'zod';
import { EnvelopeSchema, describeZodError, type Envelope } from '../bus/index.js';
import { EventFileError, TemplateFieldMissingError } from './errors.js';
import { evaluateBool } from './expression.js';
import type { LoadedPlaybook } from './loader.js';
import type { AnyStep } from './schema.js';
import { needsApproval } from './step-runner.js';
import { render } from './template.js';
import { dedupeKey, matchTrigger } from './trigger-gate.js';

/** One line of the trigger check. */
export interface TriggerCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** A step as it would run for the event: rendered parameters, or why they cannot be rendered. */
export interface ExplainedStep {
  id: string;
  kind: 'action' | 'verify' | 'stop';
  when?: { expression: string; value: boolean | 'unknown'; note?: string };
  action?: string;
  params?: unknown;
  /** Fields the step would fail on (the event lacks them). */
  errors: string[];
  /** Fields only known when earlier steps have run. */
  deferred: string[];
  approval: boolean;
  timeoutMs?: number;
  retry?: { attempts: number; intervalMs: number; backoff: number };
  verify?: { expect: string; withinMs: number; intervalMs: number; backoff: number };
  stop?: string;
  undo?: { action: string; params: unknown };
  onFailure: ExplainedStep[];
}

/** What `homeostat playbooks explain` prints. Computing it publishes nothing and calls nothing. */
export interface Explanation {
  playbook: string;
  file: string;
  event: { id: string; subject?: string; target?: string };
  fires: boolean;
  trigger: TriggerCheck[];
  steps: ExplainedStep[];
  onFailure: ExplainedStep[];
}

const PartialEvent = z
  .object({
    subject: z.string().min(1),
    id: z.string().min(1).default('dry-run'),
    type: z.string().min(1).optional(),
    source: z.string().min(1).default('explain'),
    time: z.string().optional(),
    target: z.string().optional(),
    data: z.unknown().default({}),
    trace: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** Reads an event for a dry run: a full envelope, or `{ subject, target?, data? }` with the rest filled in. */
export function readEventFile(file: string): Envelope<unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EventFileError(file, `not readable JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = PartialEvent.safeParse(json);
  if (!parsed.success) throw new EventFileError(file, `not an event: ${describeZodError(parsed.error)} (give at least { "subject": "events.…" })`);
  const e = parsed.data;
  const env = { ...e, type: e.type ?? e.subject, time: e.time ?? new Date().toISOString() };
  const checked = EnvelopeSchema.safeParse(env);
  if (!checked.success) throw new EventFileError(file, `not an event: ${describeZodError(checked.error)}`);
  return checked.data;
}

/** Renders a value for display: missing `event` fields are errors, `steps` fields are known at run time. */
function preview(value: unknown, ctx: Record<string, unknown>, errors: string[], deferred: string[]): unknown {
  if (typeof value === 'string') {
    try {
      return render(value, ctx);
    } catch (e) {
      if (!(e instanceof TemplateFieldMissingError)) throw e;
      if (e.field.startsWith('steps.')) {
        deferred.push(e.field);
        return `<${e.field} at run time>`;
      }
      errors.push(e.message);
      return `<missing ${e.field}>`;
    }
  }
  if (Array.isArray(value)) return value.map((v) => preview(v, ctx, errors, deferred));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, preview(v, ctx, errors, deferred)]));
  return value;
}

function explainStep(pb: LoadedPlaybook, step: AnyStep, event: Envelope<unknown>, failure: Map<string, AnyStep[]>): ExplainedStep {
  const ctx = { event, steps: {} };
  const errors: string[] = [];
  const deferred: string[] = [];
  const out: ExplainedStep = { id: step.id, kind: step.action ? 'action' : step.verify ? 'verify' : 'stop', errors, deferred, approval: needsApproval(step), onFailure: [] };
  const cond = pb.conditions.get(step.id);
  if (cond && step.when) {
    const r = evaluateBool(cond, ctx);
    const dependsOnSteps = /\bsteps\b/.test(step.when);
    out.when = r.error && dependsOnSteps ? { expression: step.when, value: 'unknown', note: 'depends on earlier steps' } : { expression: step.when, value: r.value, note: r.error };
  }
  if (step.action) {
    out.action = step.action;
    out.params = preview(step.with, ctx, errors, deferred);
    out.timeoutMs = step.timeout;
    if (step.retry) out.retry = { attempts: step.retry.attempts, intervalMs: step.retry.interval, backoff: step.retry.backoff };
    const undo = 'undo' in step ? step.undo : undefined;
    if (undo) out.undo = { action: undo.action, params: preview(undo.with, ctx, [], deferred) };
  } else if (step.verify) {
    out.action = step.verify.probe;
    out.params = preview(step.verify.with, ctx, errors, deferred);
    out.timeoutMs = step.timeout;
    out.verify = { expect: step.verify.expect, withinMs: step.verify.within, intervalMs: step.verify.interval, backoff: step.verify.backoff };
  } else {
    out.stop = String(preview(step.stop, ctx, [], deferred));
  }
  out.onFailure = (failure.get(step.id) ?? []).map((f) => explainStep(pb, f, event, new Map()));
  return out;
}

/** A dry run: would the playbook fire for this event, and what would each step do? No side effect. */
export function explainPlaybook(pb: LoadedPlaybook, event: Envelope<unknown>): Explanation {
  const on = pb.playbook.on;
  const trigger: TriggerCheck[] = [];
  const m = matchTrigger(pb, event);
  const subjectOk = m.failed !== 'subject';
  trigger.push({ check: 'subject', ok: subjectOk, detail: `"${event.subject ?? '(none)'}" against "${on.event}"` });
  if (subjectOk) {
    const targetOk = m.failed !== 'targets';
    trigger.push({ check: 'targets', ok: targetOk, detail: on.targets ? `"${event.target ?? '(none)'}" in [${on.targets.join(', ')}]` : 'any target' });
    if (targetOk && on.when) trigger.push({ check: 'when', ok: m.ok, detail: m.ok ? `"${on.when}" is true` : m.reason });
  }
  const target = event.target ?? '_global';
  if (m.ok) {
    if (on.dedupe) {
      const key = dedupeKey(pb, event);
      trigger.push({ check: 'dedupe', ok: true, detail: key === null ? `key "${on.dedupe.key}" names a field the event lacks: not deduplicated` : `key "${key}": further events with it within ${ms(on.dedupe.window)} are dropped` });
    }
    if (on.cooldown) trigger.push({ check: 'cooldown', ok: true, detail: `no new run on ${target} for ${ms(on.cooldown)} after a run ends (state not consulted in a dry run)` });
    const b = pb.playbook.budget;
    if (b) trigger.push({ check: 'budget', ok: true, detail: `at most ${b.runs} run(s) on ${target} per ${ms(b.per)} (state not consulted in a dry run)` });
    trigger.push({ check: 'one run per target', ok: true, detail: `an event for ${target} while a run is active there is attached to it` });
  }
  return {
    playbook: pb.playbook.name,
    file: pb.file,
    event: { id: event.id, subject: event.subject, target: event.target },
    fires: m.ok,
    trigger,
    steps: pb.playbook.steps.map((s) => explainStep(pb, s, event, pb.stepFailure)),
    onFailure: pb.onFailure.map((s) => explainStep(pb, s, event, new Map())),
  };
}

function formatStep(s: ExplainedStep, n: number, indent: string): string[] {
  const lines: string[] = [];
  const head =
    s.kind === 'stop'
      ? `stop: "${s.stop}"`
      : s.kind === 'verify'
        ? `verify with probe ${s.action} ${JSON.stringify(s.params)}: until ${s.verify!.expect} within ${ms(s.verify!.withinMs)} (poll ${ms(s.verify!.intervalMs)} × ${s.verify!.backoff})`
        : `action ${s.action} ${JSON.stringify(s.params)}, timeout ${ms(s.timeoutMs ?? 0)}`;
  lines.push(`${indent}${n}. ${s.id}: ${head}`);
  const sub = `${indent}   `;
  if (s.when) lines.push(`${sub}when ${s.when.expression} → ${s.when.value}${s.when.note ? ` (${s.when.note})` : ''}`);
  if (s.approval) lines.push(`${sub}waits for operator approval on approvals.<runId> first`);
  if (s.retry) lines.push(`${sub}retry: ${s.retry.attempts} attempts, ${ms(s.retry.intervalMs)} × ${s.retry.backoff}`);
  for (const e of s.errors) lines.push(`${sub}WOULD FAIL: ${e}`);
  if (s.deferred.length) lines.push(`${sub}known at run time: ${[...new Set(s.deferred)].join(', ')}`);
  if (s.undo) lines.push(`${sub}undo: action ${s.undo.action} ${JSON.stringify(s.undo.params)}`);
  if (s.onFailure.length) {
    lines.push(`${sub}on failure:`);
    s.onFailure.forEach((f, i) => lines.push(...formatStep(f, i + 1, `${sub}  `)));
  }
  return lines;
}

/** The explanation as text for a terminal. */
export function formatExplanation(x: Explanation): string {
  const lines = [
    `playbook ${x.playbook} (${x.file})`,
    `event    ${x.event.subject ?? '(no subject)'}${x.event.target ? ` target=${x.event.target}` : ''} id=${x.event.id}`,
    x.fires ? 'WOULD FIRE' : `WOULD NOT FIRE: ${x.trigger.find((t) => !t.ok)?.detail ?? ''}`,
    ...x.trigger.map((t) => `  ${t.ok ? '✓' : '✗'} ${t.check}: ${t.detail}`),
    'steps:',
    ...x.steps.flatMap((s, i) => formatStep(s, i + 1, '  ')),
  ];
  if (x.onFailure.length) lines.push('on_failure (after rollback, when the run fails):', ...x.onFailure.flatMap((s, i) => formatStep(s, i + 1, '  ')));
  lines.push('(dry run: nothing was published and no action was called)');
  return `${lines.join('\n')}\n`;
}
