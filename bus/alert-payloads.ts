import { z } from 'zod';

/**
 * Prometheus Alertmanager's webhook body, version 4, as Alertmanager sends it
 * (`webhook_configs` receiver). Unknown fields are kept out; a body of another version is refused.
 */
export const AlertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().default('0001-01-01T00:00:00Z'),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).max(200),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

export const AlertmanagerPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string().default(''),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: z.record(z.string(), z.string()).default({}),
  commonLabels: z.record(z.string(), z.string()).default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertmanagerAlert).max(10_000),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

/** The AegisOps `IncidentPayload` (`POST /incidents`): one incident from a service that POSTs it. */
export const IncidentPayload = z
  .object({
    incident_id: z.string().min(1).max(200),
    container_name: z.string().min(1).max(200),
    alert_type: z.string().min(1).max(200),
    severity: z.string().min(1).max(50),
    logs: z.string().max(64 * 1024).default(''),
    timestamp: z.string().min(1),
  })
  .strict();
export type IncidentPayload = z.infer<typeof IncidentPayload>;

/**
 * Homeostat's own envelope as `POST /incidents` takes it (told apart from an IncidentPayload by its
 * `data` object): `{ id, type, source, time, subject?, target?, data: { alertname, status?, severity?,
 * labels?, annotations?, startsAt?, endsAt? } }`. It becomes `events.alert.<alertname>`; `subject`,
 * when given, must be that subject. Idempotent on `id`.
 */
export const IncidentEnvelope = z
  .object({
    id: z.string().min(1).max(200),
    type: z.string().min(1).max(200),
    source: z.string().min(1).max(200),
    time: z.iso.datetime({ offset: true }),
    subject: z.string().max(300).optional(),
    target: z.string().min(1).max(200).optional(),
    data: z
      .object({
        alertname: z.string().min(1).max(200),
        status: z.enum(['firing', 'resolved']).default('firing'),
        severity: z.string().min(1).max(50).optional(),
        labels: z.record(z.string(), z.string()).default({}),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string().min(1).optional(),
        endsAt: z.string().min(1).optional(),
      })
      .strict(),
    trace: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type IncidentEnvelope = z.infer<typeof IncidentEnvelope>;

/**
 * `events.alert.<alertname>`: one alert taken in over HTTP (Alertmanager or `POST /incidents`).
 * Playbooks match on it with CEL over `event.data.labels`, e.g. `event.data.labels.severity == "critical"`.
 */
export const AlertEventData = z.object({
  /** The alert's name as sent (the subject carries it escaped, see `alertSubjectToken`). */
  alertname: z.string(),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  startsAt: z.string(),
  endsAt: z.string(),
  /** Alertmanager's fingerprint, or the incident (or envelope) id for `POST /incidents`. */
  fingerprint: z.string(),
  generatorURL: z.string(),
  /** Where it came from: `alertmanager`, `incident` (an IncidentPayload) or `envelope` (Homeostat's envelope form). */
  origin: z.enum(['alertmanager', 'incident', 'envelope']),
  /** Alertmanager's receiver and group key, when from Alertmanager. */
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
});
export type AlertEventData = z.infer<typeof AlertEventData>;
