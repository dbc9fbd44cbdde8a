import type { Logger } from 'pino';
import { ActiveRunsQuery, subjects, type ActiveRunData, type ActiveRunsReply, type BusClient } from '../bus/index.js';
import type { RunRecord } from './run-record.js';

/** A run the engine holds, as `engine.runs.active` answers it. */
export function describeActiveRun(r: RunRecord): ActiveRunData {
  return {
    runId: r.runId, playbook: r.playbook, target: r.target, eventId: r.eventId, startedAt: new Date(r.startedAt).toISOString(),
    status: r.awaitingApproval ? 'awaiting_approval' : 'running', steps: r.steps.length, attached: r.attached,
    ...(r.traceId ? { traceId: r.traceId } : {}),
    ...(r.awaitingApproval ? { awaiting: r.awaitingApproval } : {}),
  };
}

/**
 * Answers `engine.runs.active` (request/reply; operators and the dashboard ask) with the runs this
 * engine holds in memory and the approvals they wait for. Every engine answers (no queue group):
 * the asker gathers them. A query that fails its schema is dead-lettered unanswered.
 */
export function serveActiveRuns(bus: BusClient, active: () => Iterable<RunRecord>, log: Logger): void {
  const engine = `${bus.component}:${process.pid}`;
  bus.subscribe(subjects.activeRuns, ActiveRunsQuery, (env, msg) => {
    const runs = [...active()].map(describeActiveRun).filter((r) => !env.data.waitingOnly || r.awaiting);
    const reply: ActiveRunsReply = { engine, runs };
    if (!bus.respond(msg, 'engine.runs.active', reply)) log.debug('an active-runs query without a reply subject; ignored');
  }, { acceptBare: true });
}
