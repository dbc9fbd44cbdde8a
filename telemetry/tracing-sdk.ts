import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';

export interface TracingOptions {
  /** The OTLP/HTTP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** `service.name` of this process: one per component (`homeostat-engine`, `homeostat-handler`…). */
  serviceName: string;
  log: Logger;
  /** Export through this exporter instead of OTLP/HTTP, span by span (tests). */
  exporter?: SpanExporter;
  /** How long one export may take before it is given up and its spans dropped (default 2 s). */
  exportTimeoutMs?: number;
}

/** The running SDK: spans exported and dropped, and how to flush and stop it. */
export interface Tracing {
  readonly serviceName: string;
  readonly stats: { exported: number; dropped: number };
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Wraps an exporter to count what it exported and what it dropped (an unreachable or refusing
 * endpoint): the batch processor never blocks the caller, and a failed export is counted, not retried forever.
 */
class CountingExporter implements SpanExporter {
  readonly stats = { exported: 0, dropped: 0 };
  #warned = false;
  constructor(
    private readonly inner: SpanExporter,
    private readonly log: Logger,
  ) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.inner.export(spans, (r) => {
      if (r.code === ExportResultCode.SUCCESS) this.stats.exported += spans.length;
      else {
        this.stats.dropped += spans.length;
        if (!this.#warned) this.log.warn({ err: r.error?.message, dropped: spans.length }, 'spans dropped: the OTLP endpoint did not take them (counted in homeostat_otel_spans_dropped_total)');
        this.#warned = true;
      }
      done(r);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

let current: Tracing | null = null;

/** The SDK this process started, if any. */
export function runningTracing(): Tracing | null {
  return current;
}

/**
 * Starts `@opentelemetry/sdk-node` for this process when an endpoint (or a test exporter) is given:
 * W3C trace context propagation, an AsyncLocalStorage context manager, and a batch span processor
 * exporting OTLP/HTTP (JSON). Without one nothing starts and the OpenTelemetry API stays a no-op,
 * so tracing costs nothing. One SDK per process: a second call returns the first.
 */
export function startTracing(o: TracingOptions): Tracing | null {
  if (current) return current;
  if (!o.endpoint && !o.exporter) return null;
  const timeout = o.exportTimeoutMs ?? 2000;
  const inner = o.exporter ?? new OTLPTraceExporter({ url: `${o.endpoint!.replace(/\/+$/, '')}/v1/traces`, timeoutMillis: timeout });
  const exporter = new CountingExporter(inner, o.log);
  const processor = o.exporter
    ? new SimpleSpanProcessor({ exporter })
    : new BatchSpanProcessor({ exporter, maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 500, exportTimeoutMillis: timeout });
  const sdk = new NodeSDK({ serviceName: o.serviceName, spanProcessors: [processor], instrumentations: [], metricReaders: [], logRecordProcessors: [], resourceDetectors: [] });
  sdk.start();
  o.log.info({ serviceName: o.serviceName, endpoint: o.endpoint ?? 'test exporter' }, 'OpenTelemetry tracing on');
  const tracing: Tracing = {
    serviceName: o.serviceName,
    stats: exporter.stats,
    flush: () => processor.forceFlush(),
    shutdown: async () => {
      current = null;
      await sdk.shutdown().catch((e: unknown) => o.log.warn({ err: (e as Error).message }, 'tracing shutdown failed'));
    },
  };
  current = tracing;
  return tracing;
}
