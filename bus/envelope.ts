import { z } from 'zod';

/** The one message envelope every Homeostat message travels in (CloudEvents-like, JSON). */
export const EnvelopeSchema = z
  .object({
    id: z.string().min(1),
    type: z.string().min(1),
    source: z.string().min(1),
    time: z.iso.datetime({ offset: true }),
    subject: z.string().optional(),
    target: z.string().optional(),
    data: z.unknown(),
    trace: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type Envelope<T = unknown> = Omit<z.infer<typeof EnvelopeSchema>, 'data'> & { data: T };

export { newId, makeEnvelope } from './envelope-factory.js';

/** Why a raw message was refused, in words a reader of the dead-letter subject understands. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
