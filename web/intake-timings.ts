/** The stages of one intake request, each measured in the server's own process. */
export const INTAKE_STAGES = [
  /** Fastify read the body, checked the token and parsed the JSON: request received → route handler. */
  'parse',
  /** The route's zod check of the payload. */
  'validate',
  /** Publish handed to the DurablePublisher → its bytes written to the NATS socket. */
  'write',
  /** Bytes written → the stream's acknowledgement read back (the JetStream store, both ways on loopback). */
  'streamAck',
  /** Route handler start → the 202 written (validate + ledger + publish + ack + serialization). */
  'handler',
  /** Request received → response finished. */
  'total',
] as const;
export type IntakeStage = (typeof INTAKE_STAGES)[number];

/**
 * Samples of each intake stage in milliseconds, kept only when a benchmark hands one to the web
 * server (`bench:intake` prints their percentiles): a request pays nothing for it otherwise.
 */
export class IntakeTimings {
  readonly #samples = new Map<IntakeStage, number[]>(INTAKE_STAGES.map((s) => [s, []]));

  add(stage: IntakeStage, ms: number): void {
    this.#samples.get(stage)!.push(ms);
  }

  /** Forgets every sample (the end of a warm-up). */
  reset(): void {
    for (const xs of this.#samples.values()) xs.length = 0;
  }

  /** Nearest-rank percentiles per stage (stages without samples left out). */
  summary(): { stage: IntakeStage; n: number; p50: number; p95: number; p99: number; max: number }[] {
    return INTAKE_STAGES.flatMap((stage) => {
      const xs = [...this.#samples.get(stage)!].sort((a, b) => a - b);
      if (!xs.length) return [];
      const q = (p: number) => xs[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)]!;
      return [{ stage, n: xs.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: xs.at(-1)! }];
    });
  }
}
