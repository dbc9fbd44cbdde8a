import { z } from 'zod';
import { MemoryRecords, type AtomicRecords, type BusClient } from '../bus/index.js';
import { PlaybookError } from './errors.js';

/** The KV bucket holding the trigger state: dedupe windows, cooldowns, flap budgets, back-off streaks. */
export const TRIGGER_BUCKET = 'HOMEOSTAT_TRIGGERS';
/**
 * A record unchanged for this long is dropped by the bucket (its TTL): 7 days, so a window longer
 * than that (a `budget.per` of 30 days) is remembered across restarts for 7 days only.
 */
export const TRIGGER_STATE_TTL_MS = 7 * 24 * 3_600_000;

/** What the gate keeps per playbook + target (key `target.<playbook>.<target>`). */
export const TargetTriggerStateSchema = z.object({
  /** No run of the playbook on the target before this time (epoch ms). */
  cooldownUntil: z.number().optional(),
  /** The flap budget: run starts within the window (epoch ms, oldest first). */
  starts: z.array(z.number()),
  /** The last ask was refused (the next refusal is not the first: no second notification). */
  exhausted: z.boolean(),
  /** The back-off streak: runs in a row, and when the last ended (null: one is going on). */
  streak: z.object({ count: z.number().int().min(1), lastEnd: z.number().nullable() }).optional(),
});
export type TargetTriggerState = z.infer<typeof TargetTriggerStateSchema>;

/** A dedupe window (key `dedupe.<playbook>.<rendered key>`): events with the key are dropped until `until`. */
export const DedupeStateSchema = z.object({ until: z.number() });
export type DedupeState = z.infer<typeof DedupeStateSchema>;

/** Where the trigger gate keeps its state. */
export interface TriggerState {
  targets: AtomicRecords<TargetTriggerState>;
  dedupe: AtomicRecords<DedupeState>;
}

/** Trigger state in this process only: forgotten when it stops (tests, benches). */
export function memoryTriggerState(): TriggerState {
  return { targets: new MemoryRecords(), dedupe: new MemoryRecords() };
}

/**
 * Trigger state in the KV bucket {@link TRIGGER_BUCKET} (created when missing): shared by every
 * engine on the bus and kept across engine restarts; each change is a compare-and-set.
 */
export async function openTriggerState(bus: BusClient): Promise<TriggerState> {
  try {
    const records = await bus.openRecords(TRIGGER_BUCKET, { ttlMs: TRIGGER_STATE_TTL_MS });
    return { targets: records('target', TargetTriggerStateSchema), dedupe: records('dedupe', DedupeStateSchema) };
  } catch (e) {
    throw new PlaybookError('PLAYBOOK_TRIGGER_STATE', `cannot open the trigger state bucket ${TRIGGER_BUCKET}: ${(e as Error).message}`, { cause: e });
  }
}
