import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { INCIDENT_STATUSES, openStore, StoreError, type IncidentStatus, type Store } from '../store/index.js';
import { CliError } from './errors.js';
import { formatIncidents, formatRunbook, formatRunDetail, formatRuns } from './history-format.js';

/** `homeostat incidents`, `homeostat runs [ID]`, `homeostat runbook`: the history, as tables or JSON. */

export interface HistoryOptions {
  json?: boolean;
  limit?: number;
}

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Opens the configured store, or returns null when the embedded store was never created. */
async function withStore<T>(settings: Readonly<Settings>, log: Logger, fn: (store: Store) => Promise<T>): Promise<T | null> {
  if (!settings.databaseUrl && !existsSync(join(settings.storeDir, 'pgdata'))) return null;
  try {
    const store = await openStore({ databaseUrl: settings.databaseUrl, storeDir: settings.storeDir, log });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(e.message, 2);
    throw e;
  }
}

function emit(out: Out, json: boolean | undefined, value: unknown, table: (color: boolean) => string): void {
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : table(Boolean(out.isTTY)));
}

export async function incidentsCommand(
  o: HistoryOptions & { status?: string; target?: string },
  settings: Readonly<Settings>,
  log: Logger,
  out: Out = process.stdout,
): Promise<number> {
  if (o.status && !(INCIDENT_STATUSES as readonly string[]).includes(o.status)) {
    throw new CliError(`--status must be one of ${INCIDENT_STATUSES.join(', ')}`);
  }
  const incidents =
    (await withStore(settings, log, (s) => s.listIncidents({ limit: o.limit ?? 50, status: o.status as IncidentStatus | undefined, target: o.target }))) ?? [];
  emit(out, o.json, incidents, (c) => formatIncidents(incidents, c));
  return 0;
}

export async function runsCommand(
  id: string | undefined,
  o: HistoryOptions & { incident?: string },
  settings: Readonly<Settings>,
  log: Logger,
  out: Out = process.stdout,
): Promise<number> {
  if (id) {
    const detail = await withStore(settings, log, (s) => s.getRun(id));
    if (!detail) throw new CliError(`no run "${id}" in the store`, 1);
    emit(out, o.json, detail, (c) => formatRunDetail(detail, c));
    return 0;
  }
  const runs = (await withStore(settings, log, (s) => s.listRuns({ limit: o.limit ?? 50, incidentId: o.incident }))) ?? [];
  emit(out, o.json, runs, (c) => formatRuns(runs, c));
  return 0;
}

export async function runbookCommand(o: HistoryOptions & { signature?: string }, settings: Readonly<Settings>, log: Logger, out: Out = process.stdout): Promise<number> {
  const entries = (await withStore(settings, log, (s) => s.runbook({ signature: o.signature }))) ?? [];
  emit(out, o.json, entries, (c) => formatRunbook(entries, c));
  return 0;
}
