import { jetstreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BusClient, EnvelopeSchema } from '../bus/index.js';
import { loadSettings } from '../config/index.js';
import { startStack } from './stack.js';

describe('stack on the durable bus', () => {
  it('carries a monitor event to the engine through HOMEOSTAT_EVENTS and the restart through HOMEOSTAT_ACTIONS, acknowledged', async () => {
    const settings = loadSettings({ ...process.env, NATS_URL: undefined, HOMEOSTAT_LOG_FORMAT: 'json' }, false);
    const log = pino({ level: 'silent' });
    const stack = await startStack({ settings, log, chaos: false });
    try {
      const operator = await BusClient.connect(stack.credentials('operator'), 'operator', log);
      const ends: string[] = [];
      operator.nc.subscribe('runs.*.resolved', { callback: (_e, m) => void ends.push((EnvelopeSchema.parse(JSON.parse(m.string())).data as { eventId: string }).eventId) });
      await operator.flush();
      // as the watchdog would: the monitor's bus publishes through its durable outbox
      const monitor = await BusClient.connect(stack.credentials('monitor'), 'monitor', log);
      const outbox = monitor.useDurableEvents();
      const env = monitor.publish('events.heartbeat.missed', 'heartbeat.missed', { target: 'worker-1', lastSeen: new Date().toISOString(), missedIntervals: 3, intervalMs: 100 }, { target: 'worker-1' });
      await expect.poll(() => ends, { timeout: 15_000 }).toContain(env.id);
      expect(outbox.stats).toMatchObject({ stored: 1, dropped: 0 });

      const engineProbe = await BusClient.connect(stack.credentials('engine'), 'probe', log);
      const handlerProbe = await BusClient.connect(stack.credentials('handler'), 'probe', log);
      const events = await jetstreamManager(engineProbe.nc);
      const stored = await events.streams.getMessage('HOMEOSTAT_EVENTS', { last_by_subj: 'events.heartbeat.missed' });
      expect(stored && EnvelopeSchema.parse(JSON.parse(stored.string())).id).toBe(env.id);
      await expect.poll(async () => (await events.consumers.info('HOMEOSTAT_EVENTS', 'engine')).num_ack_pending).toBe(0);

      const actions = await jetstreamManager(handlerProbe.nc);
      const restart = await actions.streams.getMessage('HOMEOSTAT_ACTIONS', { last_by_subj: 'actions.process.restart' });
      expect(restart && (EnvelopeSchema.parse(JSON.parse(restart.string())).data as { idempotencyKey?: string }).idempotencyKey).toMatch(/\.main\.restart\.1$/);
      await expect.poll(async () => (await actions.consumers.info('HOMEOSTAT_ACTIONS', 'handlers')).num_ack_pending).toBe(0);
      await Promise.all([operator.close(), monitor.close(), engineProbe.close(), handlerProbe.close()]);
    } finally {
      await stack.stop();
    }
  });
});
