import type { BusClient } from './bus-client.js';
import { ActiveRunsReply, type ActiveRunData, type ActiveRunsQuery } from './run-phase-payloads.js';
import { subjects } from './subjects.js';

/** How long a query waits for engines: the first answer, then {@link ACTIVE_RUNS_STALL_MS} of silence ends it. */
export const ACTIVE_RUNS_WAIT_MS = 2000;
const ACTIVE_RUNS_STALL_MS = 150;

/**
 * Asks every engine on `engine.runs.active` for the runs it holds now (each engine of a cluster
 * answers for its own) and merges the answers, waiting runs first, then oldest first. `engines`
 * counts the answers: 0 means no engine answered (none running, or not reachable by this login).
 */
export async function queryActiveRuns(bus: BusClient, q: ActiveRunsQuery = {}, maxWaitMs = ACTIVE_RUNS_WAIT_MS): Promise<{ engines: number; runs: ActiveRunData[] }> {
  const replies = await bus.gather(subjects.activeRuns, 'engine.runs.query', q, ActiveRunsReply, { maxWaitMs, stallMs: ACTIVE_RUNS_STALL_MS });
  const byId = new Map<string, ActiveRunData>();
  for (const r of replies) for (const run of r.data.runs) byId.set(run.runId, run);
  const runs = [...byId.values()].sort((a, b) => Number(Boolean(b.awaiting)) - Number(Boolean(a.awaiting)) || a.startedAt.localeCompare(b.startedAt));
  return { engines: replies.length, runs };
}
