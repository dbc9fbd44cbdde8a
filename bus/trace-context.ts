import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { headers as natsHeaders, Match, type MsgHdrs } from '@nats-io/transport-node';

/**
 * W3C trace context on the bus. Every publish, request and answer carries the active span's
 * `traceparent`/`tracestate` in its NATS headers (JetStream keeps headers, so the durable streams
 * carry them too), and every subscription runs its handler in the context the message brought.
 * With no OpenTelemetry SDK started, the API's propagator and tracer are no-ops: nothing is
 * injected, extracted or recorded.
 */

/** The tracer every Homeostat span comes from (its instrumentation scope). */
export const tracer = () => trace.getTracer('homeostat');

const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => void (carrier[key] = value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (h, key) => h?.get(key, Match.IgnoreCase) || undefined,
  keys: (h) => h?.keys() ?? [],
};

/**
 * Adds the active context's trace headers to `h` (creating headers when there is something to
 * carry). Returns `h` unchanged when no span is active, so an untraced message stays header-free.
 */
export function injectTrace(h?: MsgHdrs, ctx: Context = context.active()): MsgHdrs | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier, setter);
  const keys = Object.keys(carrier);
  if (!keys.length) return h;
  const out = h ?? natsHeaders();
  for (const k of keys) out.set(k, carrier[k]!);
  return out;
}

/** The active context's trace headers as a plain record (for a journal entry); undefined when there is no trace. */
export function traceCarrier(ctx: Context = context.active()): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return Object.keys(carrier).length ? carrier : undefined;
}

/** Runs `fn` in the context a {@link traceCarrier} record holds (as it is, when none or malformed). */
export function withTraceCarrier<R>(carrier: Record<string, string> | undefined, fn: () => R): R {
  if (!carrier) return fn();
  const ctx = propagation.extract(ROOT_CONTEXT, carrier);
  return ctx === ROOT_CONTEXT ? fn() : context.with(ctx, fn);
}

/** The context a message carried; a missing or malformed `traceparent` gives the root context (a new trace). */
export function extractTrace(h: MsgHdrs | undefined): Context {
  if (!h) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, h, getter);
}

/** Runs `fn` in the context `h` carried (or as it is, when the message carried none). */
export function withMessageContext<R>(h: MsgHdrs | undefined, fn: () => R): R {
  if (!h) return fn();
  const ctx = extractTrace(h);
  if (ctx === ROOT_CONTEXT) return fn();
  return context.with(ctx, fn);
}

/** The trace id of the active span, when one is recording or was received from a message. */
export function activeTraceId(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** A span's trace id, when it is a real (sampled or received) one; undefined with tracing off. */
export function traceIdOf(span: Span): string | undefined {
  const sc = span.spanContext();
  return trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** Attributes after OpenTelemetry's messaging conventions for one NATS message. */
export function messagingAttributes(subject: string, operation: 'send' | 'receive' | 'process', extra: { messageId?: string; consumerGroup?: string } = {}): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': subject,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation === 'send' ? 'publish' : operation,
    ...(extra.messageId ? { 'messaging.message.id': extra.messageId } : {}),
    ...(extra.consumerGroup ? { 'messaging.consumer.group.name': extra.consumerGroup } : {}),
  };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Start as a child of this context instead of the active one. */
  parent?: Context;
  startTime?: number;
}

/**
 * Runs `fn` inside a new active span named `name`; the span ends when `fn` settles, with an error
 * status when it throws. The span is handed to `fn` for attributes and events.
 */
export async function inSpan<R>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<R>): Promise<R> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, startTime: opts.startTime }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
    throw e;
  } finally {
    span.end();
  }
}

/** Starts a span that the caller ends (for work that outlives one function: a run, an approval wait). */
export function startSpan(name: string, opts: SpanOptions = {}): Span {
  return tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, startTime: opts.startTime }, opts.parent ?? context.active());
}

/** Runs `fn` with `span` as the active span. */
export function withSpan<R>(span: Span, fn: () => R): R {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Marks a span failed with a reason. */
export function failSpan(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

export { SpanKind, type Span };
