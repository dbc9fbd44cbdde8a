import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readProc } from './process-tree.js';

const PidFileSchema = z.object({ pid: z.number().int().positive(), startTime: z.number().int().nonnegative(), startedAt: z.string() });

/**
 * Reads `<dir>/<target>.pid` (written by the process driver while the target runs). Null when
 * there is none, it is unreadable, or its pid now names another process (start time differs).
 */
export function readPidFile(dir: string, target: string): z.infer<typeof PidFileSchema> | null {
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(join(dir, `${target}.pid`), 'utf8'));
  } catch {
    return null;
  }
  const parsed = PidFileSchema.safeParse(body);
  if (!parsed.success) return null;
  const now = readProc(parsed.data.pid);
  if (!now || (parsed.data.startTime && now.startTime !== parsed.data.startTime)) return null;
  return parsed.data;
}
