import type { z } from 'zod';
import { describeZodError } from './envelope.js';
import {
  AclEventData,
  BudgetExhaustedData,
  BudgetResetDoneData,
  HeartbeatMissedData,
  HeartbeatRestoredData,
  PlaybookInvalidData,
  PlaybookReloadedData,
  StoreDegradedData,
  StoreRecoveredData,
} from './payloads.js';
import { DataServiceUnreachableData, PostgresConnectionExhaustionData, RedisMemoryPressureData } from './data-service-payloads.js';
import { ResourcePressureData, ResourceRecoveredData } from './resource-payloads.js';
import { AlertEventData } from './alert-payloads.js';
import { ContainerCrashedData, DockerReachableData, DockerUnreachableData, LogSaturationData, ZombieOutbreakData } from './container-payloads.js';
import { TargetExitedData, TargetRapidCheckData, TargetRecoveredData, TargetUnhealthyData } from './target-payloads.js';

/**
 * The payload schema of every event kind Homeostat publishes, by `<family>.<kind>` of
 * `events.<family>.<kind>`. Publishers (`BusClient.publishEvent`) and the engine use this one map:
 * an event of a kind listed here whose data breaks its schema is dead-lettered, never matched.
 * Kinds not listed (users' own events) pass as they are, unless their family is in {@link FAMILY_CATALOGUE}.
 */
export const EVENT_CATALOGUE = {
  'heartbeat.missed': HeartbeatMissedData,
  'heartbeat.restored': HeartbeatRestoredData,
  'acl.spam': AclEventData,
  'acl.actor_threshold': AclEventData,
  'acl.control_flood': AclEventData,
  'resource.cpu_pressure': ResourcePressureData,
  'resource.memory_pressure': ResourcePressureData,
  'resource.disk_pressure': ResourcePressureData,
  'resource.recovered': ResourceRecoveredData,
  'target.exited': TargetExitedData,
  'target.unhealthy': TargetUnhealthyData,
  'target.recovered': TargetRecoveredData,
  'target.rapid_check': TargetRapidCheckData,
  'redis.memory_pressure': RedisMemoryPressureData,
  'redis.unreachable': DataServiceUnreachableData,
  'postgres.connection_exhaustion': PostgresConnectionExhaustionData,
  'postgres.unreachable': DataServiceUnreachableData,
  'docker.unreachable': DockerUnreachableData,
  'docker.reachable': DockerReachableData,
  'container.crashed': ContainerCrashedData,
  'container.oom_killed': ContainerCrashedData,
  'container.zombie_outbreak': ZombieOutbreakData,
  'container.log_saturation': LogSaturationData,
  'store.degraded': StoreDegradedData,
  'store.recovered': StoreRecoveredData,
  'playbook.budget_exhausted': BudgetExhaustedData,
  'playbook.budget_reset': BudgetResetDoneData,
  'playbook.invalid': PlaybookInvalidData,
  'playbook.reloaded': PlaybookReloadedData,
} as const satisfies Record<string, z.ZodType>;

/**
 * Families whose kind is open-ended (`events.alert.<alertname>`): every kind of the family carries
 * this one payload. A kind listed in {@link EVENT_CATALOGUE} wins.
 */
export const FAMILY_CATALOGUE = {
  alert: AlertEventData,
} as const satisfies Record<string, z.ZodType>;

/** `<family>.<kind>` of a catalogued event. */
export type EventName = keyof typeof EVENT_CATALOGUE;
export type EventFamily = EventName extends `${infer F}.${string}` ? F : never;
export type EventKind<F extends EventFamily> = Extract<EventName, `${F}.${string}`> extends `${F}.${infer K}` ? K : never;
/** The data of `events.<F>.<K>` as a publisher writes it. */
export type EventData<F extends EventFamily, K extends EventKind<F>> = z.input<(typeof EVENT_CATALOGUE)[`${F}.${K}` & EventName]>;

/** The schema of `events.<family>.<kind>`, or undefined for a kind the catalogue does not list. */
export function eventSchema(subject: string): z.ZodType | undefined {
  const m = /^events\.([^.]+\.[^.]+)$/.exec(subject);
  if (!m) return undefined;
  return (EVENT_CATALOGUE as Record<string, z.ZodType>)[m[1]!] ?? (FAMILY_CATALOGUE as Record<string, z.ZodType>)[m[1]!.split('.')[0]!];
}

/**
 * Checks an event's data against its catalogued schema: null when it is valid or of a kind not
 * catalogued, else the reason (`invalid data for events.heartbeat.missed: lastSeen: …`).
 */
export function eventProblem(subject: string, data: unknown): string | null {
  const schema = eventSchema(subject);
  if (!schema) return null;
  const r = schema.safeParse(data);
  return r.success ? null : `invalid data for ${subject}: ${describeZodError(r.error)}`;
}
