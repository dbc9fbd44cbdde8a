import type { Logger } from 'pino';
import type { NotifyConfig, NotifySeverity } from './notify-config.js';
import { HttpSinkQueue, type OutgoingNotification, type SinkStats } from './notify-sink.js';

/** What happened to one notification: the sinks it was queued on (log sinks write at once) and those that dropped it. */
export interface RouteOutcome {
  queued: string[];
  dropped: string[];
}

/**
 * Routes notifications by severity (and event family, when both say one) to the configured sinks (notify.yaml): log sinks write at once,
 * HTTP sinks (Slack, webhook) each get their own queue. `send` never waits on the network.
 */
export class NotifyRouter {
  readonly #http: HttpSinkQueue[] = [];
  readonly #logs: { name: string; severities: NotifySeverity[]; families?: string[] }[] = [];

  constructor(
    config: NotifyConfig,
    private readonly log: Logger,
    /** An extra generic webhook (`HOMEOSTAT_WEBHOOK_URL`), queued like the file's sinks. */
    webhookUrl?: string,
  ) {
    const sinks = [...config.sinks];
    if (webhookUrl && !sinks.some((s) => s.name === 'env-webhook')) {
      sinks.push({ kind: 'webhook', name: 'env-webhook', url: webhookUrl, severities: ['info', 'warning', 'critical'], queue: 1000, retries: 5, backoff: 500, maxBackoff: 30_000, timeout: 5000, headers: {} });
    }
    for (const s of sinks) {
      if (s.kind === 'log') this.#logs.push({ name: s.name, severities: s.severities, families: s.families });
      else this.#http.push(new HttpSinkQueue(s, log));
    }
  }

  send(n: Omit<OutgoingNotification, 'time'>): RouteOutcome {
    const out: RouteOutcome = { queued: [], dropped: [] };
    const full: OutgoingNotification = { ...n, time: new Date().toISOString() };
    const routed = (s: { severities: NotifySeverity[]; families?: string[] }) => s.severities.includes(n.severity) && (!s.families || !n.family || s.families.includes(n.family));
    for (const l of this.#logs) {
      if (!routed(l)) continue;
      this.log.warn({ notification: n, sink: l.name }, `NOTIFY [${n.severity}] ${n.message}`);
      out.queued.push(l.name);
    }
    for (const s of this.#http) {
      if (!routed(s.config)) continue;
      (s.push(full) ? out.queued : out.dropped).push(s.name);
    }
    return out;
  }

  /** Counters per HTTP sink. */
  stats(): Record<string, SinkStats> {
    return Object.fromEntries(this.#http.map((s) => [s.name, { ...s.stats }]));
  }

  /** Resolves when every HTTP sink has nothing left to send. */
  async idle(): Promise<void> {
    await Promise.all(this.#http.map((s) => s.idle()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#http.map((s) => s.close()));
  }
}
