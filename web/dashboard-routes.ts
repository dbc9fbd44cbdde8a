import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeZodError, subjectToken, type ActiveRunData, type ControlReplyData } from '../bus/index.js';
import { EventStream } from './event-stream.js';
import type { LiveFeed } from './live-feed.js';
import { tokenMatches } from './intake-token.js';

/** What the stack hands the dashboard: the feed, the read side, and the operator's two decisions. */
export interface DashboardOptions {
  feed: LiveFeed;
  /** The operator token that approve, reject and budget resets require (`homeostat creds dashboard`). */
  token: string;
  /** Sends a decision on `approvals.<runId>` as the operator; the engine's answer. */
  decide(runId: string, d: { decision: 'approve' | 'reject'; reason?: string; by: string }): Promise<ControlReplyData>;
  resetBudget(d: { playbook: string; target: string; by: string }): Promise<ControlReplyData>;
  /** Targets with their driver status and health. */
  targets(): Promise<unknown[]>;
  /** A read of the history (incidents, runs, runbook) through the recorder. */
  history(kind: 'incidents' | 'runs' | 'runbook', limit: number): Promise<unknown>;
  /** One recorded run (steps with health before/after, action calls with command, exit code, output), or null. */
  run(id: string): Promise<unknown>;
  /** The runs the engines hold now, with the approvals they wait for (`engine.runs.active`). */
  activeRuns(): Promise<ActiveRunData[]>;
  /** The last stress reports, oldest first. */
  scorecards(): unknown[];
  /** The built page (default: `dist/web-ui` beside this module's folder). */
  uiDir?: string;
}

const Decision = z.object({ decision: z.enum(['approve', 'reject']), reason: z.string().max(2000).optional(), by: z.string().max(100).optional() }).strict();
const BudgetReset = z.object({ playbook: z.string().min(1).max(200), target: z.string().min(1).max(200), by: z.string().max(100).optional() }).strict();

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

/** The built page's files, read once: nothing outside this map is ever served. */
function loadUi(dir: string): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  const add = (rel: string) => files.set(rel, { type: TYPES[extname(rel)] ?? 'application/octet-stream', body: readFileSync(join(dir, rel)) });
  if (!existsSync(join(dir, 'index.html'))) return files;
  add('index.html');
  if (existsSync(join(dir, 'assets'))) for (const f of readdirSync(join(dir, 'assets'))) add(`assets/${f}`);
  return files;
}

/** Who decided, for the record: `dashboard:<name>` (the name the operator typed, else `operator`). */
function decidedBy(name: string | undefined): string {
  const n = (name ?? '').replace(/[^\w.@-]+/g, '_').slice(0, 60);
  return `dashboard:${n || 'operator'}`;
}

/**
 * The dashboard's routes under `/dashboard`: the page (`GET /dashboard/`), its live stream
 * (`GET /dashboard/events`, SSE), a snapshot (`GET /dashboard/api/snapshot`, with the engines' active
 * runs), one recorded run (`GET /dashboard/api/runs/:runId`), and the operator's
 * decisions (`POST /dashboard/api/approvals/:runId`, `POST /dashboard/api/budget-reset`), which need
 * `Authorization: Bearer <dashboard token>`. Reading is open on 127.0.0.1.
 */
export function registerDashboard(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>, o: DashboardOptions): EventStream {
  const ui = loadUi(o.uiDir ?? fileURLToPath(new URL('../web-ui/', import.meta.url)));
  const stream = new EventStream(o.feed);

  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard/', async (_req, reply) => serveFile('index.html', reply));
  app.get('/dashboard/assets/:file', async (req, reply) => serveFile(`assets/${(req.params as { file: string }).file}`, reply));
  async function serveFile(rel: string, reply: FastifyReply) {
    const f = ui.get(rel);
    if (!f) {
      const msg = ui.size ? `no such file: ${rel}` : 'the dashboard is not built: run `npm run build` (it builds dist/web-ui)';
      return reply.code(ui.size ? 404 : 503).type('text/plain').send(msg);
    }
    return reply
      .type(f.type)
      .header('cache-control', rel === 'index.html' ? 'no-store' : 'public, max-age=31536000, immutable')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .send(f.body);
  }

  app.get('/dashboard/events', (req, reply) => stream.serve(req, reply));

  app.get('/dashboard/api/snapshot', async () => {
    const read = async <T>(fn: () => Promise<T>): Promise<T | { error: string }> => {
      try {
        return await fn();
      } catch (e) {
        return { error: (e as Error).message };
      }
    };
    // the feed's position before the reads: what the page then receives after it is at least as new
    const lastSeq = o.feed.lastSeq;
    const [targets, incidents, runs, runbook, active] = await Promise.all([
      read(() => o.targets()),
      read(() => o.history('incidents', 200)),
      read(() => o.history('runs', 200)),
      read(() => o.history('runbook', 500)),
      read(() => o.activeRuns()),
    ]);
    return { epoch: o.feed.epoch, lastSeq, targets, incidents, runs, runbook, active, scorecards: o.scorecards() };
  });

  app.get('/dashboard/api/runs/:runId', async (req, reply) => {
    const runId = (req.params as { runId: string }).runId;
    try {
      subjectToken(runId, 'run id');
    } catch (e) {
      return reply.code(400).send({ error: (e as Error).message });
    }
    try {
      const run = await o.run(runId);
      return run ? run : reply.code(404).send({ error: `no run ${runId} recorded` });
    } catch (e) {
      return reply.code(503).send({ error: `the recorder did not answer: ${(e as Error).message}` });
    }
  });

  app.post('/dashboard/api/approvals/:runId', async (req, reply) => {
    const runId = (req.params as { runId: string }).runId;
    try {
      subjectToken(runId, 'run id');
    } catch (e) {
      return reply.code(400).send({ accepted: false, message: (e as Error).message });
    }
    const d = Decision.safeParse(req.body);
    if (!d.success) return reply.code(400).send({ accepted: false, message: `not a decision ({ decision: approve|reject, reason?, by? }): ${describeZodError(d.error)}` });
    if (d.data.decision === 'reject' && !d.data.reason?.trim()) return reply.code(400).send({ accepted: false, message: 'a rejection needs a reason' });
    const last = lastRunPhase(o.feed, runId);
    if (last && last !== 'awaiting_approval') return reply.code(409).send({ accepted: false, message: `run ${runId} is not waiting for approval: it is ${last === 'step' || last === 'started' ? 'running' : last}` });
    const answer = await o.decide(runId, { decision: d.data.decision, reason: d.data.reason, by: decidedBy(d.data.by) });
    return reply.code(answer.accepted ? 200 : 409).send(answer);
  });

  app.post('/dashboard/api/budget-reset', async (req, reply) => {
    const d = BudgetReset.safeParse(req.body);
    if (!d.success) return reply.code(400).send({ accepted: false, message: `not a budget reset ({ playbook, target, by? }): ${describeZodError(d.error)}` });
    const answer = await o.resetBudget({ playbook: d.data.playbook, target: d.data.target, by: decidedBy(d.data.by) });
    return reply.code(answer.accepted ? 200 : 409).send(answer);
  });

  return stream;
}

/** The last phase the feed saw of a run (`runs.<runId>.<phase>`), if it still holds one. */
function lastRunPhase(feed: LiveFeed, runId: string): string | undefined {
  const prefix = `runs.${runId}.`;
  const items = feed.items();
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.subject.startsWith(prefix)) return items[i]!.subject.slice(prefix.length);
  return undefined;
}

/** True when a dashboard request may go on: reads are open; decisions need the dashboard token. */
export function dashboardAllows(method: string, authorization: string | undefined, token: string): boolean {
  return method === 'GET' || method === 'HEAD' || tokenMatches(authorization, token);
}
