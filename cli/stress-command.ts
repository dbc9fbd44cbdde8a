import { writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Settings } from '../config/index.js';
import { loadScenarios, renderMarkdown, renderTable, runScenarioOnce, scenariosDir, summarise, type RunReport } from '../stress/index.js';
import { CliError } from './errors.js';

export interface StressArgs {
  ids: string[];
  repeat: number;
  json?: string;
  markdown?: string;
}

/** `homeostat stress`: runs scenarios (all when none named), prints the scorecard, returns the exit code. */
export async function stressCommand(args: StressArgs, settings: Readonly<Settings>, log: Logger): Promise<number> {
  const all = loadScenarios(scenariosDir(settings.root));
  const ids = args.ids.length ? args.ids : [...all.keys()];
  const unknown = ids.filter((i) => !all.has(i));
  if (unknown.length) throw new CliError(`unknown scenario ${unknown.join(', ')} (known: ${[...all.keys()].join(', ')})`);
  const scenarios = ids.map((i) => all.get(i)!);
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
      const r = await runScenarioOnce(s, i, settings, log, progress);
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
  return report.ok ? 0 : 1;
}
