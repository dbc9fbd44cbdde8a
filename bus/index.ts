/** The bus: NATS connection, subject catalogue, envelope and payload schemas, ACL policy, managed nats-server. */
export { BusClient, type SubscribeOptions, type EnvelopeHandler } from './bus-client.js';
export type { KV } from '@nats-io/kv';
export { subjects, heartbeatComponent, subjectToken, alertSubjectToken, subjectMatches, isValidSubjectPattern, runIdsByPrefix, MIN_RUN_ID_PREFIX, RUN_PHASES, type RunPhase } from './subjects.js';
export { EnvelopeSchema, makeEnvelope, newId, describeZodError, type Envelope } from './envelope.js';
export * from './payloads.js';
export * from './resource-payloads.js';
export * from './target-payloads.js';
export * from './data-service-payloads.js';
export * from './alert-payloads.js';
export { startHeartbeat } from './heartbeat.js';
export { startNatsServer, freePort, type ManagedNatsServer, type Credentials } from './nats-server.js';
export { loadAclPolicy, generateUsers, renderAuthorization, ROLES, type Role, type AclPolicy, type AclUser } from './acl-policy.js';
export * from './errors.js';
export { ensureStream, publishDurable, DURABLE_STREAMS, type DurableStreamSpec, type DurablePublishResult } from './durable-stream.js';
export { DurableConsumer, type DurableConsumerOptions, type DurableConsumerStats, type DeliveryInfo } from './durable-consumer.js';
export { EVENT_CATALOGUE, FAMILY_CATALOGUE, eventSchema, eventProblem, type EventName, type EventFamily, type EventKind, type EventData } from './event-catalogue.js';
export { injectTrace, extractTrace, withMessageContext, activeTraceId, traceIdOf, messagingAttributes, inSpan, startSpan, withSpan, failSpan, tracer, SpanKind, type Span, type SpanOptions } from './trace-context.js';
