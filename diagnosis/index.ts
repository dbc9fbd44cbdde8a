/**
 * LLM diagnosis that advises and never acts: OpenAI-compatible providers with fallbacks, a
 * per-incident budget, redaction of what leaves the host, and a guard that accepts only an answer
 * naming a playbook of the allow-list. The engine (playbooks/) decides what to do with it.
 */
export { LlmDiagnoser, openDiagnoser } from './diagnoser.js';
export { checkAnswer, answerFormat, DiagnosisAnswerSchema, MAX_ANSWER_CHARS, type AnswerCheck } from './answer.js';
export { redactText, redactValue } from './redaction.js';
export { buildMessages, LOG_TAIL_CHARS, type ChatMessage } from './prompt.js';
export { loadDiagnosisConfig, describeProvider, ProvidersFileSchema, type DiagnosisConfig, type ProviderConfig, type LlmSettings } from './provider-config.js';
export { IncidentBudget } from './incident-budget.js';
export { retryAfterMs } from './provider-client.js';
export * from './errors.js';
export { ScriptedProvider, type ScriptedReply, type RecordedRequest } from './scripted-provider.js';
export { evaluate, formatEvaluation, loadEvaluationSet, ruleChoice, percentile, EvaluationSetSchema, type EvaluationSet, type EvaluationReport, type EvaluatedIncident } from './evaluation.js';
