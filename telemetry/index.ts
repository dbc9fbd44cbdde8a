/** Telemetry: the OpenTelemetry SDK (traces over OTLP/HTTP) and the Prometheus metrics. */
export { startTracing, runningTracing, type Tracing, type TracingOptions } from './tracing-sdk.js';
export { BusMetrics, reasonClass, type BusMetricsOptions, type MetricsImpact } from './bus-metrics.js';
