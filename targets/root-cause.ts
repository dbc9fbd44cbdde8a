import { statfsSync } from 'node:fs';
import type { LogLine } from './driver.js';

/** What a container's death is put down to (the OpsGuard catalogue). */
export type RootCause = 'disk_full' | 'config_error' | 'data_corruption' | 'oom_killed' | 'unknown';

/** Log-line patterns, first match wins (newest line first). */
const PATTERNS: [RegExp, RootCause][] = [
  [/No space left/i, 'disk_full'],
  [/configuration file/i, 'config_error'],
  [/checksum|PANIC/, 'data_corruption'],
];

/** Disk use (%) above which a death with no other cause is put down to a full disk. */
export const DISK_FULL_PCT = 85;

/**
 * The root cause of a container's death: an OOM kill (exit 137 with OOMKilled or an `oom` event,
 * or exit 137 alone) is `oom_killed`; else the newest of its last log lines that says `No space
 * left` (`disk_full`), `configuration file` (`config_error`), `checksum` or `PANIC`
 * (`data_corruption`); else a log directory fuller than {@link DISK_FULL_PCT} % is `disk_full`;
 * otherwise `unknown`. `evidence` is the matching line (bounded).
 */
export function rootCauseOf(exit: { code: number | null; oom?: 'confirmed' | 'suspected' }, lines: readonly LogLine[], diskUsedPct: number | null): { rootCause: RootCause; evidence: string | null } {
  if (exit.oom === 'confirmed' || exit.code === 137 && exit.oom === 'suspected') return { rootCause: 'oom_killed', evidence: null };
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.line;
    for (const [re, cause] of PATTERNS) if (re.test(line)) return { rootCause: cause, evidence: line.slice(0, 300) };
  }
  if (diskUsedPct !== null && diskUsedPct > DISK_FULL_PCT) return { rootCause: 'disk_full', evidence: `log directory ${diskUsedPct} % full` };
  return { rootCause: 'unknown', evidence: null };
}

/** Used % of the filesystem holding `dir` (one decimal), or null when it cannot be read. */
export function diskUsedPct(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    const total = s.blocks * s.bsize;
    if (!total) return null;
    const used = total - s.bfree * s.bsize;
    return Math.round((used / total) * 1000) / 10;
  } catch {
    return null;
  }
}
