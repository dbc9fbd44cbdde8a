import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One kept `homeostat stress` scorecard: when it ran and its per-scenario summary (MTTD/MTTR p50/p95). */
export interface KeptScorecard {
  at: string;
  passed: number;
  failed: number;
  summary: unknown[];
}

/** Keeps a stress report's summary in `dir` (one JSON file per run, named by its time) for the dashboard's charts. */
export function keepScorecard(dir: string, report: { summary: unknown[]; passed: number; failed: number }, at = new Date()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${at.toISOString().replace(/[:.]/g, '-')}.json`);
  const kept: KeptScorecard = { at: at.toISOString(), passed: report.passed, failed: report.failed, summary: report.summary };
  writeFileSync(file, JSON.stringify(kept) + '\n', { mode: 0o600 });
  return file;
}

/** The last `limit` kept scorecards, oldest first; unreadable files are skipped. */
export function readScorecards(dir: string, limit = 50): KeptScorecard[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort().slice(-limit);
  } catch {
    return [];
  }
  const out: KeptScorecard[] = [];
  for (const n of names) {
    try {
      const k = JSON.parse(readFileSync(join(dir, n), 'utf8')) as KeptScorecard;
      if (typeof k.at === 'string' && Array.isArray(k.summary)) out.push(k);
    } catch {
      // a half-written or foreign file is not a scorecard
    }
  }
  return out;
}
