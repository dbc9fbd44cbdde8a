import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { BusClient } from './bus-client.js';
import { makeEnvelope, type Envelope } from './envelope.js';
import { DurableBusError } from './errors.js';
import { injectTrace } from './trace-context.js';

/** A JetStream stream of the durable bus. */
export interface DurableStreamSpec {
  name: string;
  subjects: string[];
  /** A message id seen again within this window is stored once (default 2 min). */
  duplicateWindowMs?: number;
  /** Messages older than this are discarded (default 24 h). */
  maxAgeMs?: number;
}

/** The durable bus: events and action requests, each in its own stream. */
export const DURABLE_STREAMS = {
  events: { name: 'HOMEOSTAT_EVENTS', subjects: ['events.>'] },
  // `actions.*.*` only: probes (`actions.<family>.<verb>.probe`) and `actions.served` go by request/reply
  actions: { name: 'HOMEOSTAT_ACTIONS', subjects: ['actions.*.*'] },
} as const satisfies Record<string, DurableStreamSpec>;

export const nanos = (ms: number) => Math.round(ms * 1_000_000);

/** Creates the stream, or updates it to `spec` when it exists. Idempotent. */
export async function ensureStream(bus: BusClient, spec: DurableStreamSpec): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
    max_age: nanos(spec.maxAgeMs ?? 24 * 3_600_000),
    num_replicas: bus.replicas,
  };
  try {
    const jsm = await jetstreamManager(bus.nc);
    const exists = await jsm.streams.info(spec.name).then(
      () => true,
      () => false,
    );
    if (exists) await jsm.streams.update(spec.name, config);
    else await jsm.streams.add(config);
  } catch (e) {
    throw new DurableBusError('BUS_STREAM', `cannot create or update stream ${spec.name}: ${(e as Error).message}`, e);
  }
}

export interface DurablePublishResult<T> {
  envelope: Envelope<T>;
  /** Stream sequence of the stored message. */
  seq: number;
  /** True when the stream already held this message id (it was not stored again). */
  duplicate: boolean;
}

/**
 * Publishes an envelope into a stream and waits for the stream's acknowledgement. The envelope id
 * is the JetStream message id (`Nats-Msg-Id`): publishing the same `id` again within the stream's
 * duplicate window stores nothing and reports `duplicate`.
 */
export async function publishDurable<T>(
  bus: BusClient,
  subject: string,
  type: string,
  data: T,
  opts: { id?: string; target?: string; timeoutMs?: number } = {},
): Promise<DurablePublishResult<T>> {
  const envelope = makeEnvelope(type, bus.component, data, { subject, target: opts.target });
  if (opts.id) envelope.id = opts.id;
  try {
    const headers = injectTrace();
    const ack = await jetstream(bus.nc).publish(subject, JSON.stringify(envelope), { msgID: envelope.id, timeout: opts.timeoutMs ?? 5000, ...(headers ? { headers } : {}) });
    return { envelope, seq: ack.seq, duplicate: ack.duplicate };
  } catch (e) {
    throw new DurableBusError('BUS_DURABLE_PUBLISH', `no stream acknowledged ${subject}: ${(e as Error).message}`, e, true);
  }
}
