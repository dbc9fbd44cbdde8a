import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import type { DiagnosisAnswer } from '../playbooks/index.js';

/** The answer's shape, as the model is asked for it and as it is checked. */
export const DiagnosisAnswerSchema = z
  .object({
    root_cause: z.string().min(1).max(2000).describe('The most likely root cause, in one or two sentences.'),
    confidence: z.number().min(0).max(1).describe('How sure you are, from 0 to 1.'),
    playbook: z.string().nullable().describe('The name of ONE playbook from the allow-list, or null to stop and leave it to a person.'),
    justification: z.string().min(1).max(4000).describe('Why this playbook (or none), citing the incident data.'),
  })
  .strict();

/**
 * The `response_format` sent to the provider: a strict JSON schema built from zod (openai's
 * `zodResponseFormat`, which takes zod 4 schemas through `zod/v4` since openai 5.x), with the
 * playbook narrowed to the allow-list. The answer is checked again on arrival: a provider that
 * ignores `response_format` gains nothing.
 */
export function answerFormat(allowed: readonly string[]): ReturnType<typeof zodResponseFormat> {
  const names = allowed.length ? z.enum(allowed as [string, ...string[]]) : z.never();
  const schema = DiagnosisAnswerSchema.extend({ playbook: names.nullable().describe('The name of ONE playbook from the allow-list, or null to stop.') });
  return zodResponseFormat(schema, 'diagnosis');
}

/** An answer that was ignored, and why (kept with the incident). */
export type AnswerCheck = { ok: true; answer: DiagnosisAnswer } | { ok: false; reason: string };

/** Most characters of an answer read; a longer one is cut there (and then fails to parse). */
export const MAX_ANSWER_CHARS = 16_000;

/**
 * The guard: an answer is used only when it parses as JSON, meets the schema, and names a
 * playbook of the allow-list (or none). Anything else is refused with the reason.
 */
export function checkAnswer(content: string | null | undefined, allowed: readonly string[], refusal?: string | null): AnswerCheck {
  if (refusal) return { ok: false, reason: `the model refused: ${refusal.slice(0, 200)}` };
  if (content === null || content === undefined || content.trim() === '') return { ok: false, reason: 'empty answer' };
  const cut = content.length > MAX_ANSWER_CHARS;
  let raw: unknown;
  try {
    raw = JSON.parse(stripFence(cut ? content.slice(0, MAX_ANSWER_CHARS) : content));
  } catch (e) {
    return { ok: false, reason: `${cut ? `answer cut at ${MAX_ANSWER_CHARS} characters; ` : ''}not JSON: ${(e as Error).message.slice(0, 200)}` };
  }
  const parsed = DiagnosisAnswerSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: `off-schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ').slice(0, 400)}` };
  }
  const a = parsed.data;
  if (a.playbook !== null && !allowed.includes(a.playbook)) {
    return { ok: false, reason: `playbook "${a.playbook.slice(0, 100)}" is not in the allow-list (${allowed.join(', ') || 'empty'})` };
  }
  return { ok: true, answer: a };
}

/** Some local models wrap JSON in a ```json fence despite the response format. */
function stripFence(s: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(s);
  return m ? m[1]! : s;
}
