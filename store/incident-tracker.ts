import { newId, type Envelope } from '../bus/index.js';
import type { IncidentLogEntry, IncidentRecord, IncidentStatus } from './store.js';

export interface IncidentTrackerOptions {
  /** Events for the same target and family this close to the incident's last event join it (ms). */
  windowMs: number;
  /** Event kinds that report a recovery: they join an incident but never open or reopen one. */
  recoveryKinds: ReadonlySet<string>;
  /** Lines kept in an incident's log (the newest). */
  maxLog?: number;
  /** A target's downtime cost per minute and manual MTTR (targets.yaml `impact`), when configured. */
  impact?: (target: string) => TargetImpact | undefined;
}

/** What downtime of one target costs: per minute, and how long a manual repair would take. */
export interface TargetImpact {
  costPerMinute?: number;
  manualMttrMs?: number;
}

const NO_IMPACT = { traceId: null, downtimeMs: null, downtimeAvoidedMs: null, downtimeCost: null, costAvoided: null } as const;

/** Downtime (detection → recovered), the downtime avoided against a manual repair, and what each cost. */
export function downtimeOf(downtimeMs: number, impact: TargetImpact | undefined): Pick<IncidentRecord, 'downtimeMs' | 'downtimeAvoidedMs' | 'downtimeCost' | 'costAvoided'> {
  const avoided = impact?.manualMttrMs !== undefined ? Math.max(0, impact.manualMttrMs - downtimeMs) : null;
  const perMin = impact?.costPerMinute;
  const money = (ms: number) => Math.round((ms / 60_000) * perMin! * 100) / 100;
  return {
    downtimeMs,
    downtimeAvoidedMs: avoided,
    downtimeCost: perMin !== undefined ? money(downtimeMs) : null,
    costAvoided: perMin !== undefined && avoided !== null ? money(avoided) : null,
  };
}

const MAX_EVENTS_REMEMBERED = 20_000;
const MAX_INCIDENTS_REMEMBERED = 5_000;
const CLOSED: ReadonlySet<IncidentStatus> = new Set(['resolved', 'failed', 'stopped']);

/** `key=value` pairs of an event's scalar fields, for the incident log. */
function summarize(data: unknown): string {
  if (typeof data !== 'object' || data === null) return JSON.stringify(data) ?? '';
  const parts = Object.entries(data)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}=${String(v as string | number | boolean | null)}`);
  const s = parts.join(' ');
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

/** An alert event's identity (origin + fingerprint) and status; null when the data is not an alert's. */
function alertOf(data: unknown): { key: string; status: string } | null {
  const d = data as { origin?: unknown; fingerprint?: unknown; status?: unknown } | null;
  if (typeof d?.fingerprint !== 'string' || typeof d.status !== 'string') return null;
  return { key: `${String(d.origin)}|${d.fingerprint}`, status: d.status };
}

function metricsOf(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null) return {};
  return Object.fromEntries(Object.entries(data).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean'));
}

/**
 * Groups related events into incidents and moves them through their lifecycle:
 * open → remediating → resolved / failed / stopped. Events with the same target and family
 * within the window of the incident's last event join it; a problem event joining a closed
 * incident reopens it (counted in `reopened`). Pure in-memory state: the caller writes the
 * incidents it returns.
 */
export class IncidentTracker {
  readonly #byId = new Map<string, IncidentRecord>();
  readonly #latest = new Map<string, string>();
  readonly #events = new Map<string, { incidentId: string; subject: string }>();
  readonly #activeRuns = new Map<string, number>();
  /** Alerts taken in over HTTP (origin + fingerprint) → the incident their firing event opened or joined. */
  readonly #alerts = new Map<string, string>();
  readonly #opts: Required<Omit<IncidentTrackerOptions, 'impact'>> & Pick<IncidentTrackerOptions, 'impact'>;
  /** Incidents opened since start. */
  opened = 0;

  constructor(opts: IncidentTrackerOptions) {
    this.#opts = { maxLog: 50, ...opts };
  }

  /** Resumes from incidents read back from the store (still open or remediating). */
  load(incidents: readonly IncidentRecord[]): void {
    for (const i of [...incidents].reverse()) this.#remember(i);
  }

  get(id: string): IncidentRecord | undefined {
    return this.#byId.get(id);
  }

  /** The incident and subject an event was filed under. */
  eventInfo(eventId: string | undefined): { incidentId: string; subject: string } | undefined {
    return eventId ? this.#events.get(eventId) : undefined;
  }

  /** Files an event `events.<family>.<kind>`; returns the incident it changed, if any. */
  onEvent(env: Envelope<unknown>, subject: string, traceId?: string): IncidentRecord | null {
    const [, family = 'unknown', kind = 'unknown'] = subject.split('.');
    const alert = family === 'alert' ? alertOf(env.data) : null;
    if (alert?.status === 'resolved') return this.#alertResolved(env, subject, alert.key);
    const data = env.data as { target?: unknown } | null;
    const target = env.target ?? (typeof data?.target === 'string' ? data.target : '_global');
    const at = new Date(env.time);
    const recovery = this.#opts.recoveryKinds.has(kind);
    let incident = this.#current(target, family, at);
    if (!incident) {
      if (recovery) return null;
      incident = {
        id: newId(), target, family, signature: subject, status: 'open', openedAt: at, updatedAt: at, lastEventAt: at, resolvedAt: null,
        mttrMs: null, eventCount: 0, runCount: 0, reopened: 0, errorLogs: [], metrics: {}, ...NO_IMPACT, traceId: traceId ?? null,
      };
      this.opened++;
      this.#remember(incident);
    } else if (!recovery && CLOSED.has(incident.status)) {
      incident.status = 'open';
      incident.reopened++;
      this.#reopen(incident);
    }
    incident.eventCount++;
    incident.lastEventAt = at;
    incident.updatedAt = at;
    incident.metrics = { ...incident.metrics, ...metricsOf(env.data) };
    this.#log(incident, { time: env.time, subject, message: summarize(env.data) });
    this.#rememberEvent(env.id, incident.id, subject);
    if (alert) {
      this.#alerts.set(alert.key, incident.id);
      if (this.#alerts.size > MAX_EVENTS_REMEMBERED) this.#alerts.delete(this.#alerts.keys().next().value!);
    }
    return incident;
  }

  /**
   * A `resolved` alert (Alertmanager's `send_resolved`, or an envelope with status resolved): it
   * resolves the incident its firing alert opened (MTTR: opened → now), or is recorded in the
   * incident's log when that incident was already healed. It never opens or reopens one.
   */
  #alertResolved(env: Envelope<unknown>, subject: string, key: string): IncidentRecord | null {
    const at = new Date(env.time);
    const id = this.#alerts.get(key);
    const incident = id ? this.#byId.get(id) : undefined;
    if (!incident) return null;
    incident.eventCount++;
    incident.lastEventAt = at;
    incident.updatedAt = at;
    if (CLOSED.has(incident.status)) {
      this.#log(incident, { time: env.time, subject, message: `resolved at the alert source; the incident was already ${incident.status}` });
    } else {
      incident.status = 'resolved';
      incident.resolvedAt = at;
      incident.mttrMs = at.getTime() - incident.openedAt.getTime();
      this.#log(incident, { time: env.time, subject, message: 'resolved at the alert source' });
    }
    this.#rememberEvent(env.id, incident.id, subject);
    return incident;
  }

  /**
   * A run started: links it to the incident of its triggering event (or, when that event was not
   * seen, the target's latest active incident, or a new one) and marks it remediating.
   */
  onRunStarted(run: { target: string; eventId: string | null; playbook: string; traceId?: string }, at: Date): IncidentRecord {
    const known = this.eventInfo(run.eventId ?? undefined);
    let incident = known ? this.#byId.get(known.incidentId) : undefined;
    incident ??= [...this.#byId.values()].reverse().find((i) => i.target === run.target && !CLOSED.has(i.status));
    if (!incident) {
      incident = {
        id: newId(), target: run.target, family: 'unknown', signature: `playbook:${run.playbook}`, status: 'open', openedAt: at, updatedAt: at,
        lastEventAt: at, resolvedAt: null, mttrMs: null, eventCount: 0, runCount: 0, reopened: 0, errorLogs: [], metrics: {}, ...NO_IMPACT,
      };
      this.opened++;
      this.#remember(incident);
    }
    if (CLOSED.has(incident.status)) {
      incident.reopened++;
      this.#reopen(incident);
    }
    incident.traceId ??= run.traceId ?? null;
    incident.status = 'remediating';
    incident.runCount++;
    incident.updatedAt = at;
    this.#activeRuns.set(incident.id, (this.#activeRuns.get(incident.id) ?? 0) + 1);
    return incident;
  }

  /** A run ended: the incident takes the run's outcome once no other run for it is active. */
  onRunEnded(incidentId: string, outcome: 'resolved' | 'failed' | 'stopped', at: Date, reason: string | null, subject: string): IncidentRecord | null {
    const incident = this.#byId.get(incidentId);
    if (!incident) return null;
    const left = Math.max(0, (this.#activeRuns.get(incidentId) ?? 1) - 1);
    if (left) this.#activeRuns.set(incidentId, left);
    else this.#activeRuns.delete(incidentId);
    if (outcome !== 'resolved' && reason) this.#log(incident, { time: at.toISOString(), subject, message: reason });
    incident.updatedAt = at;
    if (left) return incident;
    incident.status = outcome;
    if (outcome === 'resolved') {
      incident.resolvedAt = at;
      incident.mttrMs = at.getTime() - incident.openedAt.getTime();
      Object.assign(incident, downtimeOf(incident.mttrMs, this.#opts.impact?.(incident.target)));
    }
    return incident;
  }

  #reopen(incident: IncidentRecord): void {
    incident.resolvedAt = null;
    incident.mttrMs = null;
    Object.assign(incident, { ...NO_IMPACT, traceId: incident.traceId });
  }

  /** Adds a line to an incident's log (e.g. a step that failed). */
  note(incidentId: string, entry: IncidentLogEntry): IncidentRecord | null {
    const incident = this.#byId.get(incidentId);
    if (!incident) return null;
    this.#log(incident, entry);
    return incident;
  }

  #current(target: string, family: string, at: Date): IncidentRecord | undefined {
    const id = this.#latest.get(`${target}\u0000${family}`);
    const incident = id ? this.#byId.get(id) : undefined;
    if (!incident) return undefined;
    return incident.status === 'remediating' || at.getTime() - incident.lastEventAt.getTime() <= this.#opts.windowMs ? incident : undefined;
  }

  #log(incident: IncidentRecord, entry: IncidentLogEntry): void {
    incident.errorLogs = [...incident.errorLogs, entry].slice(-this.#opts.maxLog);
  }

  #remember(incident: IncidentRecord): void {
    this.#byId.delete(incident.id);
    this.#byId.set(incident.id, incident);
    this.#latest.set(`${incident.target}\u0000${incident.family}`, incident.id);
    if (this.#byId.size > MAX_INCIDENTS_REMEMBERED) {
      for (const [id, i] of this.#byId) {
        if (this.#byId.size <= MAX_INCIDENTS_REMEMBERED) break;
        if (CLOSED.has(i.status) && this.#latest.get(`${i.target}\u0000${i.family}`) !== id) this.#byId.delete(id);
      }
    }
  }

  #rememberEvent(eventId: string, incidentId: string, subject: string): void {
    this.#events.set(eventId, { incidentId, subject });
    if (this.#events.size > MAX_EVENTS_REMEMBERED) this.#events.delete(this.#events.keys().next().value!);
  }
}
