import type { Logger } from 'pino';
import { traceCarrier, type BusClient, type Envelope, type KV } from '../bus/index.js';
import { PlaybookError } from './errors.js';
import type { RunRecord, RunStatus, StepRecord, StepStage } from './run-record.js';

/** The KV bucket holding the journal of unfinished runs. */
export const JOURNAL_BUCKET = 'HOMEOSTAT_JOURNAL';

/** The action attempt a run sent last and has no result for yet. */
export interface InflightAttempt {
  stage: StepStage;
  step: string;
  attempt: number;
  /** The idempotency key the attempt carried; a resumed run sends the same key again. */
  key: string;
}

/** What the journal holds for one unfinished run: enough to resume it where it stopped. */
export interface JournalEntry {
  run: Pick<RunRecord, 'runId' | 'playbook' | 'target' | 'eventId' | 'startedAt' | 'attached' | 'notBefore'>;
  /** The event that started the run (the templates' `event`). */
  event: Envelope<unknown>;
  /** Finished steps, in the order they ran. */
  steps: StepRecord[];
  inflight?: InflightAttempt;
  /** The trace context the run started in (W3C `traceparent`/`tracestate`): a resumed run joins the same trace. */
  trace?: Record<string, string>;
  /** Set just before the final phase is published; an ended entry is only cleaned up, never resumed. */
  ended?: { status: RunStatus; reason?: string };
}

/** The idempotency key of one attempt of one step of one run. */
export const idempotencyKey = (runId: string, stage: StepStage, step: string, attempt: number) => `${runId}.${stage}.${step}.${attempt}`;

/**
 * The engine's write-ahead journal: a run is written when it starts, each action attempt before it
 * is sent, each step when it ends; the entry is deleted when the run ends. It lives in a
 * JetStream KV bucket (file storage on the bus's own server), so a restarted engine finds the
 * unfinished runs without a database. A failed write is logged and the run goes on.
 */
export class RunJournal {
  readonly #entries = new Map<string, JournalEntry>();

  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  static async open(bus: BusClient, log: Logger): Promise<RunJournal> {
    try {
      const kv = await bus.openKv(JOURNAL_BUCKET, { history: 1 });
      return new RunJournal(kv, log.child({ component: 'journal' }));
    } catch (e) {
      throw new PlaybookError('PLAYBOOK_JOURNAL', `cannot open the run journal ${JOURNAL_BUCKET}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Every run the journal holds (unfinished, or ended but not yet cleaned up). */
  async entries(): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (!e || e.operation !== 'PUT') continue;
      try {
        const entry = e.json<JournalEntry>();
        this.#entries.set(entry.run.runId, entry);
        out.push(entry);
      } catch (err) {
        this.log.error({ key: k, err: (err as Error).message }, 'unreadable journal entry; dropped');
        await this.kv.delete(k).catch(() => undefined);
      }
    }
    return out.sort((a, b) => a.run.startedAt - b.run.startedAt);
  }

  begin(run: RunRecord, event: Envelope<unknown>): Promise<void> {
    const { runId, playbook, target, eventId, startedAt, attached, notBefore } = run;
    const trace = traceCarrier();
    const entry: JournalEntry = { run: { runId, playbook, target, eventId, startedAt, attached, ...(notBefore ? { notBefore } : {}) }, event, steps: [], ...(trace ? { trace } : {}) };
    this.#entries.set(runId, entry);
    return this.#write(entry);
  }

  /** Written before the attempt is sent. */
  attempt(runId: string, inflight: InflightAttempt): Promise<void> {
    return this.#update(runId, (e) => (e.inflight = inflight));
  }

  stepDone(runId: string, record: StepRecord): Promise<void> {
    return this.#update(runId, (e) => {
      e.steps.push(record);
      e.inflight = undefined;
    });
  }

  ended(runId: string, status: RunStatus, reason?: string): Promise<void> {
    return this.#update(runId, (e) => (e.ended = { status, reason }));
  }

  async remove(runId: string): Promise<void> {
    this.#entries.delete(runId);
    await this.kv.delete(runId).catch((e: unknown) => this.log.warn({ runId, err: (e as Error).message }, 'journal entry not deleted'));
  }

  async #update(runId: string, f: (e: JournalEntry) => void): Promise<void> {
    const e = this.#entries.get(runId);
    if (!e) return;
    f(e);
    await this.#write(e);
  }

  async #write(e: JournalEntry): Promise<void> {
    try {
      await this.kv.put(e.run.runId, JSON.stringify(e));
    } catch (err) {
      this.log.warn({ runId: e.run.runId, err: (err as Error).message }, 'journal write failed; the run goes on without it');
    }
  }
}
