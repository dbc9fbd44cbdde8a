import type { Logger } from 'pino';
import { z } from 'zod';
import { subjects, type BusClient } from '../bus/index.js';
import { StoreError } from './errors.js';
import { INCIDENT_STATUSES, type DiagnosisRecord, type Store } from './store.js';

/** What the history commands ask: `incidents`, `incident` (one, by id), `runs`, `run` (one, by id or prefix) or `runbook`. */
export const HISTORY_KINDS = ['incidents', 'incident', 'runs', 'run', 'runbook'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export const HistoryQuery = z
  .object({
    limit: z.number().int().positive().max(10_000).optional(),
    status: z.enum(INCIDENT_STATUSES).optional(),
    target: z.string().optional(),
    incident: z.string().optional(),
    id: z.string().min(1).optional(),
    signature: z.string().optional(),
  })
  .strict();
export type HistoryQuery = z.infer<typeof HistoryQuery>;

const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

/** Answers one history query from a store. */
export async function queryStore(store: Store, kind: HistoryKind, q: HistoryQuery): Promise<unknown> {
  switch (kind) {
    case 'incidents':
      return store.listIncidents({ limit: q.limit, status: q.status, target: q.target });
    case 'incident':
      if (!q.id) throw new StoreError('STORE_BAD_QUERY', 'an incident query needs an id');
      return store.getIncident(q.id);
    case 'runs':
      return store.listRuns({ limit: q.limit, incidentId: q.incident });
    case 'run':
      if (!q.id) throw new StoreError('STORE_BAD_QUERY', 'a run query needs an id');
      return store.getRun(q.id);
    case 'runbook':
      return store.runbook({ signature: q.signature });
  }
}

/** A diagnosis `homeostat diagnose` made while a running stack holds the embedded store, sent for it to keep. */
export const DiagnosisToSave = z
  .object({
    id: z.string().min(1),
    incidentId: z.string().nullable(),
    runId: z.string().nullable(),
    step: z.string().nullable(),
    signature: z.string().nullable(),
    target: z.string().nullable(),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    latencyMs: z.number().nullable(),
    tokens: z.number(),
    costUsd: z.number(),
    answer: z.record(z.string(), z.unknown()).nullable(),
    decision: z.record(z.string(), z.unknown()).nullable(),
    calls: z.array(z.record(z.string(), z.unknown())),
    reason: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .strict();

/**
 * Serves the history over the bus (`history.<kind>`, request/reply), so `homeostat runs` can read
 * an embedded store that a running `homeostat up` holds. Read-only; hosted by the recorder.
 */
export class HistoryService {
  constructor(
    private readonly bus: BusClient,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.bus.subscribe(subjects.historyAll, HistoryQuery, async (env, msg) => {
      const kind = msg.subject.split('.')[1] as HistoryKind;
      try {
        if (!(HISTORY_KINDS as readonly string[]).includes(kind)) throw new StoreError('STORE_BAD_QUERY', `unknown history query "${kind}" (known: ${HISTORY_KINDS.join(', ')})`);
        this.bus.respondJson(msg, { ok: true, result: await queryStore(this.store, kind, env.data) });
      } catch (e) {
        const err = e instanceof StoreError ? e : new StoreError('STORE_QUERY', (e as Error).message, { cause: e });
        this.log.warn({ kind, err: err.message }, 'history query failed');
        this.bus.respondJson(msg, { ok: false, error: { code: err.code, message: err.message } });
      }
    });
    // the one write: a diagnosis printed by `homeostat diagnose`, kept with its incident
    this.bus.subscribe(subjects.diagnosisSave, DiagnosisToSave, async (env, msg) => {
      try {
        await this.store.saveDiagnosis({ ...env.data, createdAt: new Date(env.data.createdAt) });
        this.bus.respondJson(msg, { ok: true, result: env.data.id });
      } catch (e) {
        const err = e instanceof StoreError ? e : new StoreError('STORE_WRITE', (e as Error).message, { cause: e });
        this.log.warn({ diagnosis: env.data.id, err: err.message }, 'diagnosis not saved');
        this.bus.respondJson(msg, { ok: false, error: { code: err.code, message: err.message } });
      }
    });
  }
}

/** Sends a diagnosis to a running recorder to keep; resolves when it is stored. */
export async function saveDiagnosisOverBus(bus: BusClient, d: DiagnosisRecord, timeoutMs = 5000): Promise<void> {
  const text = await bus.requestText(subjects.diagnosisSave, 'diagnosis.save', { ...d, createdAt: d.createdAt.toISOString() }, timeoutMs);
  const reply = Reply.parse(JSON.parse(text));
  if (!reply.ok) throw new StoreError(reply.error.code, reply.error.message);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Asks a running recorder; dates come back as Date objects, as from the store itself. */
export async function queryHistory(bus: BusClient, kind: HistoryKind, q: HistoryQuery, timeoutMs = 5000): Promise<unknown> {
  const text = await bus.requestText(subjects.history(kind), 'history.query', q, timeoutMs);
  const reply = Reply.parse(JSON.parse(text, (key, v: unknown) => (key.endsWith('At') && typeof v === 'string' && ISO.test(v) ? new Date(v) : v)));
  if (!reply.ok) throw new StoreError(reply.error.code, reply.error.message);
  return reply.result;
}
