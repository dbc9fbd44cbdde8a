import type { Logger } from 'pino';
import { failSpan, inSpan, SpanKind } from '../bus/index.js';
import type { Diagnoser, DiagnosisCall, DiagnosisReport, DiagnosisRequest } from '../playbooks/index.js';
import { checkAnswer } from './answer.js';
import { IncidentBudget } from './incident-budget.js';
import { buildMessages } from './prompt.js';
import { ProviderClient } from './provider-client.js';
import { describeProvider, loadDiagnosisConfig, type DiagnosisConfig, type LlmSettings, type ProviderConfig } from './provider-config.js';
import { redactText } from './redaction.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * The LLM diagnoser: asks the providers in order (primary, then the fallbacks) and keeps the first
 * answer the guard accepts. Each provider gets its timeout per call and its retries (429 and 5xx,
 * honouring Retry-After); a timeout, a connection failure or a refused answer moves on to the next
 * provider. Every call is charged to the incident's budget; once it is spent, nothing more is asked.
 */
export class LlmDiagnoser implements Diagnoser {
  readonly #clients: ProviderClient[];
  readonly budget: IncidentBudget;

  constructor(
    readonly config: DiagnosisConfig,
    private readonly log: Logger,
  ) {
    this.#clients = config.providers.map((p) => new ProviderClient(p, config.maxAnswerTokens));
    this.budget = new IncidentBudget(config.budget);
  }

  /** A `diagnose` span (INTERNAL) with one CLIENT span per provider call (OpenTelemetry's gen_ai conventions). */
  diagnose(req: DiagnosisRequest): Promise<DiagnosisReport> {
    const attributes = { 'homeostat.incident': req.incidentKey, 'homeostat.signature': req.signature, 'homeostat.target': req.target };
    return inSpan('diagnose', { attributes }, async (span) => {
      const report = await this.#diagnose(req);
      span.setAttributes({ 'homeostat.diagnosis.calls': report.calls.length, 'homeostat.diagnosis.playbook': report.answer?.playbook ?? '', 'homeostat.diagnosis.provider': report.provider ?? '' });
      if (!report.answer) failSpan(span, report.reason ?? 'no usable answer');
      return report;
    });
  }

  async #diagnose(req: DiagnosisRequest): Promise<DiagnosisReport> {
    const started = performance.now();
    const calls: DiagnosisCall[] = [];
    const allowed = req.candidates.map((c) => c.name);
    const report = (extra: Pick<DiagnosisReport, 'answer' | 'provider' | 'model' | 'reason'>): DiagnosisReport => ({
      ...extra,
      calls,
      latencyMs: performance.now() - started,
      tokens: calls.reduce((n, c) => n + c.promptTokens + c.completionTokens, 0),
      costUsd: calls.reduce((n, c) => n + c.costUsd, 0),
    });
    const log = this.log.child({ incident: req.incidentKey, signature: req.signature, target: req.target });
    if (!allowed.length) return report({ answer: null, reason: 'the allow-list is empty: nothing to choose from' });
    const messages = buildMessages(req);
    const problems: string[] = [];
    for (const client of this.#clients) {
      const p = client.config;
      let wait = p.backoffMs;
      for (let attempt = 1; attempt <= p.retries + 1; attempt++) {
        const over = this.budget.refusal(req.incidentKey);
        if (over) {
          log.warn({ provider: p.name }, over);
          return report({ answer: null, reason: [...problems, over].join('; ') });
        }
        const r = await inSpan(`chat ${p.model}`, { kind: SpanKind.CLIENT, attributes: chatAttributes(p, attempt) }, async (span) => {
          const r = await client.call(messages, allowed);
          if (r.kind === 'answer') span.setAttributes({ 'gen_ai.usage.input_tokens': r.promptTokens, 'gen_ai.usage.output_tokens': r.completionTokens });
          else failSpan(span, scrub(r.reason, p));
          return r;
        });
        const call: DiagnosisCall = { provider: p.name, model: p.model, attempt, latencyMs: r.latencyMs, promptTokens: 0, completionTokens: 0, costUsd: 0, outcome: 'error' };
        calls.push(call);
        if (r.kind === 'answer') {
          call.promptTokens = r.promptTokens;
          call.completionTokens = r.completionTokens;
          call.costUsd = (r.promptTokens * p.price.inputPer1m + r.completionTokens * p.price.outputPer1m) / 1e6;
          this.budget.charge(req.incidentKey, 1, r.promptTokens + r.completionTokens);
          const checked = checkAnswer(r.content, allowed, r.refusal);
          if (checked.ok) {
            call.outcome = 'accepted';
            log.info({ provider: p.name, model: p.model, latencyMs: Math.round(r.latencyMs), playbook: checked.answer.playbook, confidence: checked.answer.confidence }, 'diagnosis accepted');
            return report({ answer: checked.answer, provider: p.name, model: p.model });
          }
          call.outcome = 'refused';
          call.reason = checked.reason;
          problems.push(`${p.name}: ${checked.reason}`);
          log.warn({ provider: p.name, model: p.model, reason: checked.reason }, 'diagnosis answer ignored; trying the next provider');
          break;
        }
        this.budget.charge(req.incidentKey, 1, 0);
        call.reason = scrub(r.reason, p);
        if (r.httpStatus !== undefined) call.httpStatus = r.httpStatus;
        log.warn({ provider: p.name, model: p.model, attempt, reason: call.reason, retryAfterMs: r.retryAfterMs }, 'provider call failed');
        if (!r.retryable || attempt > p.retries) {
          problems.push(`${p.name}: ${call.reason}`);
          break;
        }
        const delay = r.retryAfterMs ?? wait;
        if (delay > p.maxRetryAfterMs) {
          problems.push(`${p.name}: ${call.reason} (Retry-After ${Math.round(delay)} ms is beyond ${p.maxRetryAfterMs} ms)`);
          break;
        }
        await sleep(delay);
        wait *= 2;
      }
    }
    return report({ answer: null, reason: `no provider gave a usable answer: ${problems.join('; ')}` });
  }
}

function chatAttributes(p: ProviderConfig, attempt: number) {
  let server = '';
  try {
    server = new URL(p.baseUrl).host;
  } catch {
    // a base URL the provider config accepted but URL does not: leave the address out
  }
  return { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': p.model, 'server.address': server, 'homeostat.provider': p.name, 'homeostat.attempt': attempt };
}

/** A provider's error text, redacted and with its own key removed (a provider may echo a header). */
function scrub(text: string, p: ProviderConfig): string {
  const t = p.apiKey ? text.split(p.apiKey).join('[REDACTED:key]') : text;
  return redactText(t);
}

/**
 * The diagnoser the settings describe, or null with the reason `diagnose` steps are skipped. An
 * invalid providers file or a missing key fails here, at start-up, naming the variable or field.
 */
export function openDiagnoser(llm: LlmSettings, log: Logger): { diagnoser: LlmDiagnoser | null; unavailable?: string } {
  const config = loadDiagnosisConfig(llm);
  if (!config) return { diagnoser: null, unavailable: 'no LLM provider configured (set HOMEOSTAT_LLM_PROVIDERS, or HOMEOSTAT_LLM_BASE_URL and HOMEOSTAT_LLM_MODEL)' };
  log.info({ providers: config.providers.map(describeProvider), budget: config.budget }, 'LLM diagnosis enabled');
  return { diagnoser: new LlmDiagnoser(config, log) };
}
