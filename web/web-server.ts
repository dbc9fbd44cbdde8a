import Fastify, { LogController, type FastifyError, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AlertmanagerPayload, describeZodError, DurablePublisher, IncidentEnvelope, IncidentPayload, inSpan, SpanKind, subjects, type BusClient } from '../bus/index.js';
import { AlertIntake } from './alert-intake.js';
import { AlertLedger, type AlertLedgerOptions } from './alert-ledger.js';
import { dashboardAllows, registerDashboard, type DashboardOptions } from './dashboard-routes.js';
import type { EventStream } from './event-stream.js';
import type { LiveFeed } from './live-feed.js';
import { WebError } from './errors.js';
import { tokenMatches } from './intake-token.js';
import type { IntakeTimings } from './intake-timings.js';

export interface WebServerOptions {
  /** A bus client logged in with the `intake` role. */
  bus: BusClient;
  /** The bearer token every route but `GET /healthz` requires. */
  token: string;
  log: Logger;
  /** 0 (default) picks a free port. Always bound to 127.0.0.1. */
  port?: number;
  /** Largest accepted body in bytes (default 1 MiB); a larger one is answered 413. */
  bodyLimit?: number;
  ledger?: AlertLedgerOptions;
  /** Serve the live dashboard under `/dashboard` (reads open on loopback, decisions need its token). */
  dashboard?: DashboardOptions;
  /** Serves `GET /metrics` (Prometheus text format, no token: loopback only) from this scrape. */
  metrics?: { scrape(): Promise<{ contentType: string; body: string }> };
  /** Samples every intake stage into this (benchmarks only: `bench:intake` prints where the time goes). */
  timings?: IntakeTimings;
}

export interface WebServer {
  url: string;
  port: number;
  ledger: AlertLedger;
  /** Requests refused (401, 400, 413, 415) and bodies dead-lettered. */
  stats: { unauthorized: number; refused: number };
  /** The dashboard's SSE stream (open clients, `closeAll`); null without a dashboard. */
  stream: EventStream | null;
  /** The dashboard's live feed (its counters); null without a dashboard. */
  dashboardFeed: LiveFeed | null;
  close(): Promise<void>;
}

/** The raw body is kept to dead-letter a refused request. */
const MAX_DEADLETTER_RAW = 4096;
declare module 'fastify' {
  interface FastifyRequest {
    rawBody: string;
    /** performance.now() when the request arrived and when its route handler started (with `timings` only). */
    receivedAt: number;
    handlerAt: number;
  }
}

/**
 * Starts the stack's one HTTP server on 127.0.0.1: `GET /healthz` (no token), `POST /alerts/alertmanager`,
 * `POST /incidents` and `GET /alerts/recent` (bearer token), and `GET /metrics` when given a scrape (no token). JSON only; bodies over the limit get 413;
 * malformed or wrong-version bodies get 400 and go, bounded, to `deadletter.intake` with the reason.
 */
export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const log = o.log.child({ component: 'web' });
  const ledger = new AlertLedger(o.ledger);
  // one reply subscription for every stream acknowledgement; a turn's publishes go out in one write
  const timings = o.timings;
  const publisher = new DurablePublisher(o.bus, undefined, timings && ((stage, ms) => timings.add(stage, ms)));
  const intake = new AlertIntake(publisher, ledger, log);
  const stats = { unauthorized: 0, refused: 0 };
  const app = Fastify({ bodyLimit: o.bodyLimit ?? 1024 * 1024, loggerInstance: log, logController: new LogController({ disableRequestLogging: true }) });

  const deadletter = (req: FastifyRequest, reason: string, raw: string) => {
    stats.refused++;
    const route = req.url.split('?')[0]!.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'root';
    o.bus.deadletterRaw(`intake.${route}`, raw.length > MAX_DEADLETTER_RAW ? raw.slice(0, MAX_DEADLETTER_RAW) : raw, reason);
  };

  app.decorateRequest('rawBody', '');
  app.decorateRequest('receivedAt', 0);
  app.decorateRequest('handlerAt', 0);
  if (timings) {
    app.addHook('onRequest', async (req) => {
      req.receivedAt = performance.now();
    });
    app.addHook('onResponse', async (req) => {
      if (!req.handlerAt || req.method !== 'POST') return;
      const now = performance.now();
      timings.add('handler', now - req.handlerAt);
      timings.add('total', now - req.receivedAt);
    });
  }
  /** Route handler started: `parse` ends; `validate` is timed from here. */
  const handlerStarted = (req: FastifyRequest) => {
    if (!timings) return;
    req.handlerAt = performance.now();
    timings.add('parse', req.handlerAt - req.receivedAt);
  };
  const validated = (req: FastifyRequest) => timings?.add('validate', performance.now() - req.handlerAt);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const raw = body as string;
    req.rawBody = raw;
    try {
      done(null, JSON.parse(raw));
    } catch (e) {
      const err = new Error(`malformed JSON: ${(e as Error).message}`) as FastifyError;
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' && (req.url === '/healthz' || (o.metrics && req.url === '/metrics'))) return;
    if (o.dashboard && (req.url === '/dashboard' || req.url.startsWith('/dashboard/'))) {
      // a page of another site may not reach the dashboard through a name it rebound to 127.0.0.1
      if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(req.headers.host ?? '')) {
        await reply.code(403).send({ error: 'the dashboard answers on 127.0.0.1 or localhost only' });
        return;
      }
      if (dashboardAllows(req.method, req.headers.authorization, o.dashboard.token)) return;
      stats.unauthorized++;
      await reply.code(401).header('www-authenticate', 'Bearer').send({ accepted: false, message: 'unauthorized: approve, reject and budget resets need the dashboard token (homeostat creds dashboard)' });
      return;
    }
    if (!tokenMatches(req.headers.authorization, o.token)) {
      stats.unauthorized++;
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized: send Authorization: Bearer <token> (homeostat creds intake)' });
    }
  });

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    // a transient failure (no stream acknowledged the event) is 503: Alertmanager retries it
    const status = (err as { transient?: boolean }).transient ? 503 : (err.statusCode ?? 500);
    if (status === 413) deadletter(req, `body over the limit of ${app.initialConfig.bodyLimit} bytes (content-length ${req.headers['content-length'] ?? '?'})`, '');
    else if (status === 400) deadletter(req, err.message, req.rawBody);
    else if (status === 415) stats.refused++;
    if (status >= 500) log.error({ err }, 'request failed');
    if (status === 503) void reply.header('retry-after', '1');
    return reply.code(status).send({ error: status === 500 && !(err instanceof WebError) ? 'internal error' : err.message });
  });

  app.get('/healthz', async () => ({ ok: true, bus: !o.bus.isClosed }));

  if (o.metrics) {
    const m = o.metrics;
    app.get('/metrics', async (_req, reply) => {
      const s = await m.scrape();
      return reply.header('content-type', s.contentType).send(s.body);
    });
  }

  /** An intake request as a SERVER span: the events it publishes (and the runs they start) are its children. */
  const traced = <R>(route: string, fn: () => Promise<R>) =>
    inSpan(`POST ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': route, 'homeostat.component': 'intake' } }, fn);

  app.post('/alerts/alertmanager', async (req, reply) => {
    handlerStarted(req);
    const parsed = AlertmanagerPayload.safeParse(req.body);
    validated(req);
    if (!parsed.success) {
      const reason = `not an Alertmanager webhook body (version 4): ${describeZodError(parsed.error)}`;
      deadletter(req, reason, req.rawBody);
      return reply.code(400).send({ error: reason });
    }
    const events = await traced('/alerts/alertmanager', () => intake.alertmanager(parsed.data));
    if (parsed.data.truncatedAlerts > 0) log.warn({ truncatedAlerts: parsed.data.truncatedAlerts, groupKey: parsed.data.groupKey }, 'Alertmanager truncated alerts of this group (raise max_alerts in webhook_configs)');
    return reply.code(202).send({ accepted: events.filter((e) => !e.duplicate).length, duplicates: events.filter((e) => e.duplicate).length, truncatedAlerts: parsed.data.truncatedAlerts, events });
  });

  app.post('/incidents', async (req, reply) => {
    handlerStarted(req);
    const body = req.body as Record<string, unknown> | null;
    // Homeostat's envelope form: told apart by its `data` object
    if (body && typeof body === 'object' && typeof body.data === 'object' && body.data !== null) {
      const env = IncidentEnvelope.safeParse(body);
      let reason = env.success ? null : `not a Homeostat envelope (id, type, source, time, data: { alertname, … }): ${describeZodError(env.error)}`;
      if (env.success && env.data.subject !== undefined && env.data.subject !== subjects.alert(env.data.data.alertname)) {
        reason = `subject "${env.data.subject}" is not ${subjects.alert(env.data.data.alertname)}, the subject of data.alertname`;
      }
      if (!env.success || reason) {
        deadletter(req, reason!, req.rawBody);
        return reply.code(400).send({ error: reason });
      }
      const e = await intake.envelope(env.data);
      return reply.code(202).send({ accepted: e.duplicate ? 0 : 1, duplicates: e.duplicate ? 1 : 0, events: [e] });
    }
    const parsed = IncidentPayload.safeParse(req.body);
    if (!parsed.success) {
      const reason = `not an incident (incident_id, container_name, alert_type, severity, logs, timestamp): ${describeZodError(parsed.error)}`;
      deadletter(req, reason, req.rawBody);
      return reply.code(400).send({ error: reason });
    }
    const e = await traced('/incidents', () => intake.incident(parsed.data));
    return reply.code(202).send({ accepted: e.duplicate ? 0 : 1, duplicates: e.duplicate ? 1 : 0, events: [e] });
  });

  app.get('/alerts/recent', async (req) => {
    const limit = Math.min(500, Math.max(1, Number((req.query as { limit?: string }).limit ?? 50) || 50));
    return { stats: ledger.stats, alerts: ledger.recent(limit) };
  });

  const stream = o.dashboard ? registerDashboard(app, o.dashboard) : null;
  // open SSE streams would hold close() forever: end them first (the pages reconnect and resume)
  app.addHook('preClose', async () => stream?.closeAll());

  try {
    await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  } catch (e) {
    throw new WebError('WEB_LISTEN', `cannot listen on 127.0.0.1:${o.port ?? 0}: ${(e as Error).message} (set HOMEOSTAT_HTTP_PORT to a free port, or 0)`, { cause: e });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  return { url: `http://127.0.0.1:${port}`, port, ledger, stats, stream, dashboardFeed: o.dashboard?.feed ?? null, close: async () => {
      await app.close();
      publisher.close();
    } };
}
