import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Duration } from './duration.js';
import { SettingsError } from './errors.js';

/** The project root (where package.json lives), from source or from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new SettingsError('cannot find the Homeostat installation (no package.json above ' + import.meta.url + ')');
    dir = up;
  }
  return dir;
}

const Env = z.object({
  // one server, or a cluster's nodes as a comma list (the client fails over between them)
  NATS_URL: z
    .string()
    .refine((v) => v.split(',').every((u) => URL.canParse(u.trim())), 'a URL, or several separated by commas')
    .optional(),
  HOMEOSTAT_JS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  HOMEOSTAT_IDENTITY: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" or "-"').default('homeostat'),
  HOMEOSTAT_NATS_USER: z.string().optional(),
  HOMEOSTAT_NATS_PASSWORD: z.string().optional(),
  // natscli's names, as `homeostat creds` prints them; HOMEOSTAT_NATS_* win when both are set
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  HOMEOSTAT_WEBHOOK_URL: z.string().url().optional(),
  HOMEOSTAT_HOME: z.string().optional(),
  HOMEOSTAT_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOMEOSTAT_NOTIFY: z.string().optional(),
  HOMEOSTAT_TARGETS: z.string().optional(),
  HOMEOSTAT_PLAYBOOKS: z.string().optional(),
  HOMEOSTAT_ACL: z.string().optional(),
  HOMEOSTAT_MONITORS: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  HOMEOSTAT_LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  HOMEOSTAT_ACL_MONITOR: z.string().optional(),
  HOMEOSTAT_CHAOS_ACTORS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return {};
      try {
        const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(v));
        if (parsed.success) return parsed.data;
      } catch {
        /* reported below */
      }
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of actor → password' });
      return z.NEVER;
    }),
  HOMEOSTAT_LLM_PROVIDERS: z.string().optional(),
  HOMEOSTAT_LLM_BASE_URL: z.string().url().optional(),
  HOMEOSTAT_LLM_MODEL: z.string().optional(),
  HOMEOSTAT_LLM_API_KEY: z.string().optional(),
  HOMEOSTAT_LLM_API_KEY_FILE: z.string().optional(),
  HOMEOSTAT_LLM_TIMEOUT: Duration.optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/.*)?$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
});

export interface Settings {
  /** Existing NATS server to use instead of starting one (credentials may be in the URL). */
  natsUrl?: string;
  /** Replicas of the JetStream streams and KV buckets Homeostat creates on `natsUrl` (HOMEOSTAT_JS_REPLICAS; 3 on a 3-node cluster). */
  jsReplicas: number;
  /** This stack's name on a shared bus (HOMEOSTAT_IDENTITY): a second `up` with the same identity on one NATS_URL is refused. */
  identity: string;
  /** Login for `natsUrl` (HOMEOSTAT_NATS_USER/PASSWORD, else natscli's NATS_USER/NATS_PASSWORD), e.g. for the CLI or a component run on its own. */
  natsUser?: string;
  natsPassword?: string;
  /** Notifications are also POSTed here when set. */
  webhookUrl?: string;
  /** Port of the stack's one HTTP server on 127.0.0.1 (alert intake, /healthz); 0 picks a free port. */
  httpPort: number;
  /** The intake's bearer token, generated at first start (mode 0600): `$HOMEOSTAT_HOME/intake-token`. */
  intakeTokenFile: string;
  /** The dashboard's operator token (approve, reject, budget reset from the page), generated at first start (0600): `$HOMEOSTAT_HOME/dashboard-token`. */
  dashboardTokenFile: string;
  /** Every `homeostat stress` report is kept here for the dashboard's scorecard charts: `$HOMEOSTAT_HOME/scorecards`. */
  scorecardDir: string;
  /** The notification sinks file (Slack, webhook, log; routing by severity). */
  notifyFile: string;
  /** Runtime directory: generated nats-server config, credentials, JetStream store, logs. */
  home: string;
  targetsFile: string;
  playbooksDir: string;
  aclFile: string;
  /** The monitors file (resource pressure thresholds, windows). */
  monitorsFile: string;
  logLevel: string;
  logFormat: 'pretty' | 'json';
  root: string;
  /** The ACL monitor's thresholds file (default monitors/acl-monitor.yaml). */
  aclMonitorFile: string;
  /** Logins of the ACL policy's named actors, handed to the chaos agent only (set by the stack when it spawns it). */
  chaosActors: Readonly<Record<string, string>>;
  /** PostgreSQL for incidents, runs and the runbook; the embedded store (PGlite in `storeDir`) when unset. */
  databaseUrl?: string;
  /** Where the embedded store keeps its data: `$HOMEOSTAT_HOME/store`. */
  storeDir: string;
  /** OTLP/HTTP endpoint for traces (`OTEL_EXPORTER_OTLP_ENDPOINT`); tracing is off when unset. */
  otlpEndpoint?: string;
  /** The LLM providers (diagnosis/): a providers file, or one provider from HOMEOSTAT_LLM_*; keys never serialised. */
  llm: LlmEnv;
}

/** What the diagnosis reads of the environment. `toJSON` leaves the keys out, so logging settings never prints one. */
export interface LlmEnv {
  providersFile?: string;
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  apiKeyFile?: string;
  timeoutMs?: number;
  /** `*_API_KEY` and `HOMEOSTAT_LLM_*` variables: where a providers file's `api_key_env` is looked up. */
  keyEnv: Readonly<Record<string, string>>;
}

function llmEnv(e: z.infer<typeof Env>, env: NodeJS.ProcessEnv): LlmEnv {
  const keyEnv = Object.freeze(Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => typeof kv[1] === 'string' && kv[1] !== '' && (/_API_KEY$/.test(kv[0]) || kv[0].startsWith('HOMEOSTAT_LLM_')))));
  const out: LlmEnv = {
    providersFile: e.HOMEOSTAT_LLM_PROVIDERS ? resolve(e.HOMEOSTAT_LLM_PROVIDERS) : undefined,
    baseUrl: e.HOMEOSTAT_LLM_BASE_URL,
    model: e.HOMEOSTAT_LLM_MODEL,
    apiKey: e.HOMEOSTAT_LLM_API_KEY,
    apiKeyFile: e.HOMEOSTAT_LLM_API_KEY_FILE,
    timeoutMs: e.HOMEOSTAT_LLM_TIMEOUT,
    keyEnv,
  };
  Object.defineProperty(out, 'toJSON', { enumerable: false, value: () => ({ providersFile: out.providersFile, baseUrl: out.baseUrl, model: out.model, apiKey: out.apiKey ? '[set]' : undefined }) });
  return Object.freeze(out);
}

/** Reads the environment once into a frozen settings object. No other module reads process.env. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): Readonly<Settings> {
  // an empty variable counts as unset
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SettingsError(`invalid environment: ${msg}`);
  }
  const e = parsed.data;
  const root = projectRoot();
  const home = resolve(e.HOMEOSTAT_HOME ?? join(homedir(), '.homeostat'));
  return Object.freeze({
    httpPort: e.HOMEOSTAT_HTTP_PORT,
    intakeTokenFile: join(home, 'intake-token'),
    dashboardTokenFile: join(home, 'dashboard-token'),
    scorecardDir: join(home, 'scorecards'),
    notifyFile: resolve(e.HOMEOSTAT_NOTIFY ?? join(root, 'handlers', 'notify.yaml')),
    natsUrl: e.NATS_URL,
    jsReplicas: e.HOMEOSTAT_JS_REPLICAS,
    identity: e.HOMEOSTAT_IDENTITY,
    natsUser: e.HOMEOSTAT_NATS_USER ?? e.NATS_USER,
    natsPassword: e.HOMEOSTAT_NATS_PASSWORD ?? e.NATS_PASSWORD,
    webhookUrl: e.HOMEOSTAT_WEBHOOK_URL,
    home: resolve(e.HOMEOSTAT_HOME ?? join(homedir(), '.homeostat')),
    targetsFile: resolve(e.HOMEOSTAT_TARGETS ?? join(root, 'targets', 'targets.yaml')),
    playbooksDir: resolve(e.HOMEOSTAT_PLAYBOOKS ?? join(root, 'playbooks', 'library')),
    aclFile: resolve(e.HOMEOSTAT_ACL ?? join(root, 'bus', 'acl.yaml')),
    monitorsFile: resolve(e.HOMEOSTAT_MONITORS ?? join(root, 'monitors', 'monitors.yaml')),
    logLevel: e.LOG_LEVEL,
    logFormat: e.HOMEOSTAT_LOG_FORMAT ?? (isTTY ? 'pretty' : 'json'),
    root,
    aclMonitorFile: resolve(e.HOMEOSTAT_ACL_MONITOR ?? join(root, 'monitors', 'acl-monitor.yaml')),
    chaosActors: Object.freeze(e.HOMEOSTAT_CHAOS_ACTORS),
    databaseUrl: e.DATABASE_URL || undefined,
    storeDir: join(resolve(e.HOMEOSTAT_HOME ?? join(homedir(), '.homeostat')), 'store'),
    llm: llmEnv(e, env),
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
}
