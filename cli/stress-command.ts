import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { attachedStack, loadScenarios, renderMarkdown, renderTable, runScenarioOnce, scenariosDir, summarise, type AttachOptions, type RunReport } from '../stress/index.js';
import { keepScorecard } from '../web/index.js';
import { CliError } from './errors.js';
import { operatorCredentials } from './operator-connection.js';

export interface StressArgs {
  ids: string[];
  repeat: number;
  json?: string;
  markdown?: string;
  /** Score the running `homeostat up` (its operator login) instead of a fresh stack per run. */
  attach?: boolean;
}

/** The running stack to attach to: its operator login, and its run directory when it is this home's. */
function attachOptions(settings: Readonly<Settings>): AttachOptions {
  const operator = operatorCredentials(settings);
  const runDir = join(settings.home, 'run');
  let local = false;
  try {
    local = existsSync(runDir) && (JSON.parse(readFileSync(join(runDir, 'credentials.json'), 'utf8')) as { url?: string }).url === operator.url;
  } catch {
    local = false;
  }
  return { operator, targetsFile: settings.targetsFile, runDir: local ? runDir : undefined };
}

/** `homeostat stress`: runs scenarios (all when none named), prints the scorecard, returns the exit code. */
export async function stressCommand(args: StressArgs, settings: Readonly<Settings>, log: Logger): Promise<number> {
  const all = loadScenarios(scenariosDir(settings.root));
  const ids = args.ids.length ? args.ids : [...all.keys()];
  const unknown = ids.filter((i) => !all.has(i));
  if (unknown.length) throw new CliError(`unknown scenario ${unknown.join(', ')} (known: ${[...all.keys()].join(', ')})`);
  const scenarios = ids.map((i) => all.get(i)!);
  const attach = args.attach ? attachOptions(settings) : null;
  if (attach) {
    process.stderr.write(
      `attached to ${attach.operator.url}: orphans${attach.runDir ? '' : ', the cut-off, collateral on Homeostat\'s processes'} and the machine's calm before a CPU fault are not measured\n`,
    );
  }
  const runs: RunReport[] = [];
  const started = performance.now();
  const tty = process.stderr.isTTY;
  let current: [string, number, string] | null = null;
  const progress = (id: string, run: number, phase: string) => {
    current = [id, run, phase];
    const elapsed = ((performance.now() - started) / 1000).toFixed(1);
    const line = `[${elapsed}s] ${id} run ${run}/${args.repeat}: ${phase}`;
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
  };
  // on a terminal the elapsed time keeps ticking during long phases (e.g. a 10 s detection window)
  const ticker = tty ? setInterval(() => current && progress(...current), 1000) : null;
  ticker?.unref();
  for (const s of scenarios) {
    for (let i = 1; i <= args.repeat; i++) {
      const r = await runScenarioOnce(s, i, settings, log, progress, attach ? () => attachedStack(attach, log) : undefined);
      current = null;
      runs.push(r);
      const line = `${s.id} run ${i}: ${r.passed ? 'PASS' : 'FAIL'}  MTTD ${r.mttdMs ?? '—'} ms${s.cutoff ? `  cut-off ${r.cutoffMs ?? '—'} ms` : ''}  MTTR ${r.mttrMs ?? '—'} ms${r.notes.length ? `  (${r.notes.join('; ')})` : ''}`;
      process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    }
  }
  if (ticker) clearInterval(ticker);
  const report = summarise(runs, scenarios);
  process.stdout.write(`\n${renderTable(report)}\n`);
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  if (args.markdown) writeFileSync(args.markdown, renderMarkdown(report));
  try {
    keepScorecard(settings.scorecardDir, report);
  } catch (e) {
    log.warn({ err: e, dir: settings.scorecardDir }, 'scorecard not kept for the dashboard');
  }
  return report.ok ? 0 : 1;
}
