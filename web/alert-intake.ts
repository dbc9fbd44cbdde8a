import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { eventProblem, subjects, type AlertEventData, type AlertmanagerPayload, type DurablePublisher, type IncidentEnvelope, type IncidentPayload } from '../bus/index.js';
import type { AlertLedger, IntakeRecord } from './alert-ledger.js';

/** What one accepted alert became. */
export interface AcceptedAlert {
  subject: string;
  eventId: string;
  duplicate: boolean;
}

/** The envelope id of an alert: a digest of its identity, so a re-sent alert carries the same `Nats-Msg-Id`. */
export function alertEventId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/**
 * Turns alerts into `events.alert.<alertname>` on the durable bus. Each alert is identified by a key
 * (Alertmanager: fingerprint + startsAt + status; incident: its id) whose digest is the envelope id:
 * the stream stores a re-send within its duplicate window once, and the ledger skips a later one.
 */
export class AlertIntake {
  constructor(
    private readonly publisher: DurablePublisher,
    private readonly ledger: AlertLedger,
    private readonly log: Logger,
  ) {}

  /** Publishes every alert of an Alertmanager webhook body (all at once, answered in order); resolves once the stream stored each. */
  async alertmanager(body: AlertmanagerPayload): Promise<AcceptedAlert[]> {
    const out: Promise<AcceptedAlert>[] = [];
    for (const a of body.alerts) {
      const data: AlertEventData = {
        alertname: a.labels.alertname ?? '',
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        fingerprint: a.fingerprint,
        generatorURL: a.generatorURL,
        origin: 'alertmanager',
        receiver: body.receiver,
        groupKey: body.groupKey,
      };
      out.push(this.#publish(`alertmanager|${a.fingerprint}|${a.startsAt}|${a.status}`, data, a.labels.instance ?? a.labels.target));
    }
    return Promise.all(out);
  }

  /** Publishes one AegisOps incident as `events.alert.<alert_type>`; idempotent on `incident_id`. */
  async incident(p: IncidentPayload): Promise<AcceptedAlert> {
    const data: AlertEventData = {
      alertname: p.alert_type,
      status: 'firing',
      labels: { alertname: p.alert_type, severity: p.severity, container: p.container_name },
      annotations: p.logs ? { logs: p.logs } : {},
      startsAt: p.timestamp,
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: p.incident_id,
      generatorURL: '',
      origin: 'incident',
    };
    return this.#publish(`incident|${p.incident_id}`, data, p.container_name);
  }

  /** Publishes Homeostat's envelope form of an incident as `events.alert.<alertname>`; idempotent on the envelope's `id`. */
  async envelope(e: IncidentEnvelope): Promise<AcceptedAlert> {
    const d = e.data;
    const data: AlertEventData = {
      alertname: d.alertname,
      status: d.status,
      labels: { ...d.labels, alertname: d.alertname, ...(d.severity ? { severity: d.severity } : {}) },
      annotations: d.annotations,
      startsAt: d.startsAt ?? e.time,
      endsAt: d.endsAt ?? '0001-01-01T00:00:00Z',
      fingerprint: e.id,
      generatorURL: '',
      origin: 'envelope',
    };
    return this.#publish(`envelope|${e.id}`, data, e.target);
  }

  async #publish(key: string, data: AlertEventData, target: string | undefined): Promise<AcceptedAlert> {
    const subject = subjects.alert(data.alertname);
    const eventId = alertEventId(key);
    const rec = (duplicate: boolean): IntakeRecord => ({
      time: new Date().toISOString(),
      origin: data.origin,
      alertname: data.alertname,
      status: data.status,
      fingerprint: data.fingerprint,
      subject,
      eventId,
      duplicate,
    });
    if (this.ledger.seen(key)) {
      this.ledger.record(key, rec(true));
      return { subject, eventId, duplicate: true };
    }
    const problem = eventProblem(subject, data);
    if (problem) throw new Error(problem); // the route's schema already holds; a mismatch is a bug here
    const r = await this.publisher.publish(subject, `alert.${subject.slice('events.alert.'.length)}`, data, { id: eventId, target });
    this.ledger.record(key, rec(r.duplicate));
    if (!r.duplicate) this.log.info({ subject, eventId, status: data.status, fingerprint: data.fingerprint }, 'alert taken in');
    return { subject, eventId, duplicate: r.duplicate };
  }
}
