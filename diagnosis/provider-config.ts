import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Duration, loadYamlFile, type LlmEnv } from '../config/index.js';
import { ProviderConfigError } from './errors.js';

const ProviderEntry = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider names are lower-case letters, digits, "_" or "-"'),
    base_url: z.string().url().describe('An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama).'),
    model: z.string().min(1),
    api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Environment variable holding the key.'),
    api_key_file: z.string().min(1).optional().describe('File holding the key (first line).'),
    timeout: Duration.default(15_000).describe('Per call.'),
    retries: z.number().int().min(0).max(5).default(2).describe('Further attempts after a 429 or 5xx (Retry-After honoured).'),
    backoff: Duration.default(500).describe('Wait before the first retry when the provider gives no Retry-After; doubled each retry.'),
    max_retry_after: Duration.default(10_000).describe('A Retry-After longer than this sends the call to the next provider instead.'),
    price: z
      .object({ input_per_1m: z.number().min(0).default(0), output_per_1m: z.number().min(0).default(0) })
      .strict()
      .default({ input_per_1m: 0, output_per_1m: 0 })
      .describe('USD per million prompt / completion tokens, for the cost estimate.'),
    response_format: z.enum(['json_schema', 'json_object', 'none']).default('json_schema').describe('How structured output is asked for.'),
  })
  .strict();

export const ProvidersFileSchema = z
  .object({
    providers: z.array(ProviderEntry).min(1).describe('The primary first, then the fallbacks in order.'),
    budget: z
      .object({
        calls: z.number().int().min(1).default(6).describe('Provider calls per incident (retries and fallbacks included).'),
        tokens: z.number().int().min(1).default(30_000).describe('Tokens (prompt + completion) per incident.'),
      })
      .strict()
      .default({ calls: 6, tokens: 30_000 }),
    max_answer_tokens: z.number().int().min(50).max(8000).default(800),
  })
  .strict();
export type ProvidersFile = z.infer<typeof ProvidersFileSchema>;

/** One provider, its key resolved (never logged: see {@link describeProvider}). */
export interface ProviderConfig {
  name: string;
  baseUrl: string;
  model: string;
  apiKey: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxRetryAfterMs: number;
  price: { inputPer1m: number; outputPer1m: number };
  responseFormat: 'json_schema' | 'json_object' | 'none';
}

export interface DiagnosisConfig {
  providers: ProviderConfig[];
  budget: { calls: number; tokens: number };
  maxAnswerTokens: number;
}

/** What the LLM settings hold (config/settings.ts reads the environment once). */
export type LlmSettings = LlmEnv;

/** A provider as it may be printed: never its key. */
export function describeProvider(p: ProviderConfig): string {
  return `${p.name} (${p.model} at ${p.baseUrl}${p.apiKey ? ', key set' : ''})`;
}

function readKey(file: string, provider: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.trim();
  } catch (e) {
    throw new ProviderConfigError(`provider ${provider}: cannot read api_key_file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
}

/**
 * The providers from the settings: a providers file when HOMEOSTAT_LLM_PROVIDERS is set, else one
 * provider from HOMEOSTAT_LLM_BASE_URL/_MODEL; null when neither is (diagnosis is then skipped).
 * A key named but missing is an error that names the variable, never a value.
 */
export function loadDiagnosisConfig(s: LlmSettings): DiagnosisConfig | null {
  let file: ProvidersFile;
  if (s.providersFile) {
    file = loadYamlFile(s.providersFile, ProvidersFileSchema);
  } else if (s.baseUrl || s.model) {
    if (!s.baseUrl || !s.model) throw new ProviderConfigError('HOMEOSTAT_LLM_BASE_URL and HOMEOSTAT_LLM_MODEL go together');
    file = ProvidersFileSchema.parse({ providers: [{ name: 'env', base_url: s.baseUrl, model: s.model, ...(s.timeoutMs ? { timeout: s.timeoutMs } : {}) }] });
  } else {
    return null;
  }
  const providers = file.providers.map((p, i): ProviderConfig => {
    let apiKey = '';
    if (p.api_key_env) {
      apiKey = s.keyEnv[p.api_key_env] ?? '';
      if (!apiKey) throw new ProviderConfigError(`provider ${p.name}: ${p.api_key_env} is not set (only *_API_KEY and HOMEOSTAT_LLM_* variables are read)`);
    } else if (p.api_key_file) {
      apiKey = readKey(p.api_key_file, p.name);
    } else if (!s.providersFile && i === 0) {
      apiKey = s.apiKey ?? (s.apiKeyFile ? readKey(s.apiKeyFile, p.name) : '');
    }
    return {
      name: p.name, baseUrl: p.base_url, model: p.model, apiKey, timeoutMs: p.timeout, retries: p.retries, backoffMs: p.backoff, maxRetryAfterMs: p.max_retry_after,
      price: { inputPer1m: p.price.input_per_1m, outputPer1m: p.price.output_per_1m }, responseFormat: p.response_format,
    };
  });
  const names = new Set<string>();
  for (const p of providers) {
    if (names.has(p.name)) throw new ProviderConfigError(`${s.providersFile ?? 'environment'}: duplicate provider name "${p.name}"`);
    names.add(p.name);
  }
  return { providers, budget: file.budget, maxAnswerTokens: file.max_answer_tokens };
}
