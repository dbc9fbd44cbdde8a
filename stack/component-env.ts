import type { Credentials } from '../bus/index.js';

/**
 * The environment for a Homeostat component started as its own process (`homeostat chaos-agent`,
 * `engine`, `handler`): the server and its role's login, read back by its settings, and JSON logs.
 */
export function componentEnv(creds: Credentials, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NATS_URL: creds.url,
    HOMEOSTAT_NATS_USER: creds.user ?? '',
    HOMEOSTAT_NATS_PASSWORD: creds.password ?? '',
    HOMEOSTAT_JS_REPLICAS: String(creds.replicas ?? 1),
    // an operator's natscli login (`eval $(homeostat creds operator)`) must not stand in for the role's
    NATS_USER: '',
    NATS_PASSWORD: '',
    HOMEOSTAT_LOG_FORMAT: 'json',
    ...extra,
  };
}
