import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import type { RunSummary } from '../store/index.js';
import { CliError } from './errors.js';
import { fetchHistory } from './history-commands.js';

/** A whole run id: 32 hex digits (`newId`). */
const FULL_ID = /^[0-9a-f]{32}$/;

/** How many recent runs a prefix is matched against. */
const RECENT_RUNS = 1000;

/**
 * The run id an operator means by `idOrPrefix` (e.g. the 12 characters `homeostat runs` prints).
 * A whole id is taken as it is; a prefix is matched against the recorded runs, preferring the runs
 * waiting for approval: one match is the answer, several are refused with the candidates listed.
 * With no match (or no history to ask) it is passed on as it is: the engine answers for the runs it holds.
 */
export async function resolveRunId(idOrPrefix: string, settings: Readonly<Settings>, log: Logger): Promise<string> {
  if (FULL_ID.test(idOrPrefix)) return idOrPrefix;
  let runs: RunSummary[];
  try {
    runs = ((await fetchHistory('runs', { limit: RECENT_RUNS }, settings, log)) ?? []) as RunSummary[];
  } catch (e) {
    log.debug({ err: e }, 'no history to resolve a run id prefix; passed on as it is');
    return idOrPrefix;
  }
  const matches = runs.filter((r) => r.id.startsWith(idOrPrefix));
  const waiting = matches.filter((r) => r.status === 'awaiting_approval');
  const pick = waiting.length ? waiting : matches;
  if (pick.length <= 1) return pick[0]?.id ?? idOrPrefix;
  const list = pick.map((r) => `  ${r.id}  ${r.status}  ${r.playbook} on ${r.target}`).join('\n');
  throw new CliError(`run id prefix "${idOrPrefix}" matches ${pick.length} runs${waiting.length ? ' waiting for approval' : ''}; give more characters:\n${list}`);
}
