import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { WebError } from './errors.js';

/**
 * The intake's bearer token: read from `file`, or generated (32 random bytes, base64url) and written
 * owner-only (0600) at first start. A token file readable by others is narrowed back to 0600.
 */
export function ensureIntakeToken(file: string): string {
  try {
    if (existsSync(file)) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      if (token.length >= 16) return token;
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const token = randomBytes(32).toString('base64url');
    writeFileSync(file, token + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    return token;
  } catch (e) {
    throw new WebError('WEB_TOKEN', `cannot read or create the intake token at ${file}: ${(e as Error).message} (check HOMEOSTAT_HOME's permissions)`, { cause: e });
  }
}

/** Compares a presented `Authorization: Bearer …` header with the token in constant time. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
