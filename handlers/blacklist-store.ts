import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { describeZodError } from '../bus/index.js';
import { BlacklistFileError } from './errors.js';

/** One blacklisted actor. */
export const BlacklistEntrySchema = z
  .object({
    actor: z.string().min(1),
    reason: z.string(),
    /** ISO 8601 times. */
    since: z.string(),
    expiresAt: z.string(),
    ttlMs: z.number().nonnegative(),
    runId: z.string().optional(),
  })
  .strict();
export type BlacklistEntry = z.infer<typeof BlacklistEntrySchema>;

const FileSchema = z.object({ version: z.literal(1), entries: z.array(BlacklistEntrySchema) }).strict();

/** Where blacklist entries are kept between restarts (a JSON file today; a database adapter can take its place). */
export interface BlacklistStore {
  load(): BlacklistEntry[];
  save(entries: readonly BlacklistEntry[]): void;
}

/** Keeps the blacklist in one JSON file (mode 0600), replaced atomically on every change. */
export class JsonFileBlacklistStore implements BlacklistStore {
  constructor(readonly file: string) {}

  load(): BlacklistEntry[] {
    if (!existsSync(this.file)) return [];
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      throw new BlacklistFileError(this.file, `not JSON: ${(e as Error).message}`, e);
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success) throw new BlacklistFileError(this.file, describeZodError(parsed.error));
    return parsed.data.entries;
  }

  save(entries: readonly BlacklistEntry[]): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, entries }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
