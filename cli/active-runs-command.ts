import type { Logger } from 'pino';
import { BusClient, queryActiveRuns, type ActiveRunData } from '../bus/index.js';
import type { Settings } from '../config/index.js';
import { CliError } from './errors.js';
import { duration, shortId, table } from './history-format.js';
import { operatorCredentials } from './operator-connection.js';

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** The active runs as a table; a waiting run shows its step, action, risk and time left. */
export function formatActiveRuns(runs: ActiveRunData[], color: boolean, now = Date.now()): string {
  if (!runs.length) return 'no active runs\n';
  return table(
    ['RUN', 'PLAYBOOK', 'TARGET', 'STATUS', 'STEPS', 'STARTED', 'WAITING ON', 'RISK', 'TIME LEFT'],
    runs.map((r) => [
      shortId(r.runId), r.playbook, r.target, r.status, r.steps, `${duration(now - Date.parse(r.startedAt))} ago`,
      r.awaiting ? `${r.awaiting.step}: ${r.awaiting.action} ${JSON.stringify(r.awaiting.params ?? {}).slice(0, 60)}` : '-',
      r.awaiting?.risk ?? '-', r.awaiting ? duration(Math.max(0, Date.parse(r.awaiting.expiresAt) - now)) : '-',
    ]),
    color,
  );
}

/**
 * `homeostat runs --active` and `homeostat approvals`: what the running engines hold now, asked on
 * `engine.runs.active` as the operator. Exit 2 when no engine answered.
 */
export async function activeRunsCommand(o: { json?: boolean; waitingOnly?: boolean }, settings: Readonly<Settings>, log: Logger, out: Out = process.stdout): Promise<number> {
  const bus = await BusClient.connect(operatorCredentials(settings), 'homeostat-cli', log).catch((e: unknown) => {
    throw new CliError(`cannot reach the bus: ${(e as Error).message}`, 2);
  });
  try {
    const { engines, runs } = await queryActiveRuns(bus, o.waitingOnly ? { waitingOnly: true } : {});
    if (!engines) throw new CliError('no engine answered on engine.runs.active: is Homeostat running?', 2);
    out.write(o.json ? `${JSON.stringify(runs, null, 2)}\n` : o.waitingOnly && !runs.length ? 'no run waits for approval\n' : formatActiveRuns(runs, Boolean(out.isTTY)));
    return 0;
  } finally {
    await bus.close();
  }
}
