import { HomeostatError } from '../config/index.js';

/** Errors of the LLM diagnosis. Each has a stable `code`; `transient` says whether a retry can help. */
export class DiagnosisError extends HomeostatError {
  override name = 'DiagnosisError';
}

/** The providers file or the LLM environment is invalid; nothing is called. */
export class ProviderConfigError extends DiagnosisError {
  override name = 'ProviderConfigError';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('DIAGNOSIS_PROVIDER_CONFIG', message, opts);
  }
}

/** An evaluation set that cannot be used. */
export class EvaluationSetError extends DiagnosisError {
  override name = 'EvaluationSetError';
  constructor(file: string, message: string, opts: { cause?: unknown } = {}) {
    super('DIAGNOSIS_EVALUATION_SET', `${file}: ${message}`, opts);
  }
}
