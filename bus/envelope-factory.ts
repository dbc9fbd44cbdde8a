import { randomUUID } from 'node:crypto';

/**
 * Builds envelopes without loading zod, so small target programs (the demo worker) start fast.
 * The shape is checked by `EnvelopeSchema` in envelope.ts on every receiving side.
 */
export interface EnvelopeShape<T> {
  id: string;
  type: string;
  source: string;
  time: string;
  subject?: string;
  target?: string;
  data: T;
  trace?: Record<string, string>;
}

export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

export function makeEnvelope<T>(
  type: string,
  source: string,
  data: T,
  extra: { subject?: string; target?: string; trace?: Record<string, string> } = {},
): EnvelopeShape<T> {
  return { id: newId(), type, source, time: new Date().toISOString(), ...extra, data };
}
