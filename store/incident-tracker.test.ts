import { describe, expect, it } from 'vitest';
import type { AlertEventData, Envelope } from '../bus/index.js';
import { IncidentTracker } from './incident-tracker.js';

const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, s)).toISOString();
let n = 0;
function alert(status: 'firing' | 'resolved', fingerprint: string, s: number, target = 'worker-1'): Envelope<AlertEventData> {
  return {
    id: `ev-${++n}`, type: 'alert.InstanceDown', source: 'intake', time: at(s), subject: 'events.alert.InstanceDown', target,
    data: {
      alertname: 'InstanceDown', status, labels: { alertname: 'InstanceDown', severity: 'critical' }, annotations: {}, startsAt: at(0),
      endsAt: status === 'resolved' ? at(s) : '0001-01-01T00:00:00Z', fingerprint, generatorURL: '', origin: 'alertmanager',
    },
  };
}
const tracker = () => new IncidentTracker({ windowMs: 60_000, recoveryKinds: new Set(['recovered']) });

describe('incident tracker: alerts resolved at their source', () => {
  it('a resolved alert resolves the incident its firing alert opened, with MTTR from the opening', () => {
    const t = tracker();
    const opened = t.onEvent(alert('firing', 'fp-1', 0), 'events.alert.InstanceDown')!;
    expect(opened.status).toBe('open');
    const resolved = t.onEvent(alert('resolved', 'fp-1', 42), 'events.alert.InstanceDown')!;
    expect(resolved).toMatchObject({ id: opened.id, status: 'resolved', mttrMs: 42_000, eventCount: 2, reopened: 0 });
    expect(resolved.errorLogs.at(-1)?.message).toBe('resolved at the alert source');
  });

  it('is recorded, without reopening, when the incident was already healed; an unknown fingerprint opens nothing', () => {
    const t = tracker();
    const opened = t.onEvent(alert('firing', 'fp-2', 0), 'events.alert.InstanceDown')!;
    t.onRunStarted({ target: 'worker-1', eventId: `ev-${n}`, playbook: 'restart' }, new Date(at(1)));
    const healed = t.onRunEnded(opened.id, 'resolved', new Date(at(3)), null, 'runs.r.resolved')!;
    expect(healed).toMatchObject({ status: 'resolved', mttrMs: 3000 });
    const late = t.onEvent(alert('resolved', 'fp-2', 30), 'events.alert.InstanceDown')!;
    expect(late).toMatchObject({ id: opened.id, status: 'resolved', mttrMs: 3000, reopened: 0, eventCount: 2 });
    expect(late.errorLogs.at(-1)?.message).toBe('resolved at the alert source; the incident was already resolved');
    expect(t.onEvent(alert('resolved', 'fp-unknown', 31, 'db'), 'events.alert.InstanceDown')).toBeNull();
    expect(t.opened).toBe(1);
  });
});
