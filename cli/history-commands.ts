import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BusClient } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import {
  INCIDENT_STATUSES,
  openStore,
  queryHistory,
  queryStore,
  StoreError,
  StoreLockedError,
  type HistoryKind,
  type HistoryQuery,
  type IncidentRecord,
  type IncidentStatus,
  type RunbookEntry,
  type RunDetail,
  type RunSummary,
} from '../store/index.js';
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

/**
 * Reads the history from the configured store. When the embedded store is held by a running
 * `homeostat up`, asks that stack's recorder over the bus instead (operator credentials from
 * `$HOMEOSTAT_HOME/run/credentials.json`). Null when the embedded store was never created.
 */
export async function fetchHistory(kind: HistoryKind, q: HistoryQuery, settings: Readonly<Settings>, log: Logger): Promise<unknown> {
  if (!settings.databaseUrl && !existsSync(join(settings.storeDir, 'pgdata'))) return null;
  try {
    const store = await openStore({ databaseUrl: settings.databaseUrl, storeDir: settings.storeDir, log });
    try {
      return await queryStore(store, kind, q);
    } finally {
      await store.close();
    }
  } catch (e) {
    if (e instanceof StoreLockedError) return fromRunningStack(kind, q, settings, log, e);
    if (e instanceof StoreError) throw new CliError(e.message, 2);
    throw e;
  }
}

/**
 * The operator's connection to the running `homeostat up` that holds the embedded store (its
 * credentials in `$HOMEOSTAT_HOME/run/credentials.json`); `locked` says why the store was not opened.
 */
export async function connectToRunningStack(settings: Readonly<Settings>, log: Logger, locked: StoreLockedError): Promise<BusClient> {
  const file = join(settings.home, 'run', 'credentials.json');
  if (!existsSync(file)) throw new CliError(locked.message, 2);
  const creds = JSON.parse(readFileSync(file, 'utf8')) as { url: string; users: Record<string, string> };
  try {
    return await BusClient.connect({ url: creds.url, user: 'operator', password: creds.users.operator }, 'homeostat-cli', log);
  } catch (e) {
    throw new CliError(`${locked.message} (its bus at ${creds.url} did not answer either: ${(e as Error).message})`, 2);
  }
}

async function fromRunningStack(kind: HistoryKind, q: HistoryQuery, settings: Readonly<Settings>, log: Logger, locked: StoreLockedError): Promise<unknown> {
  const bus = await connectToRunningStack(settings, log, locked);
  try {
    return await queryHistory(bus, kind, q);
  } catch (e) {
    throw new CliError(`the running Homeostat did not answer the history query: ${(e as Error).message}`, 2);
  } finally {
    await bus.close();
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
  const q = { limit: o.limit ?? 50, status: o.status as IncidentStatus | undefined, target: o.target };
  const incidents = ((await fetchHistory('incidents', q, settings, log)) ?? []) as IncidentRecord[];
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
    const detail = (await fetchHistory('run', { id }, settings, log)) as RunDetail | null;
    if (!detail) throw new CliError(`no run "${id}" in the store`, 1);
    emit(out, o.json, detail, (c) => formatRunDetail(detail, c));
    return 0;
  }
  const runs = ((await fetchHistory('runs', { limit: o.limit ?? 50, incident: o.incident }, settings, log)) ?? []) as RunSummary[];
  emit(out, o.json, runs, (c) => formatRuns(runs, c));
  return 0;
}

export async function runbookCommand(o: HistoryOptions & { signature?: string }, settings: Readonly<Settings>, log: Logger, out: Out = process.stdout): Promise<number> {
  const entries = ((await fetchHistory('runbook', { signature: o.signature }, settings, log)) ?? []) as RunbookEntry[];
  emit(out, o.json, entries, (c) => formatRunbook(entries, c));
  return 0;
}
