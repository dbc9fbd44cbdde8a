import { randomBytes } from 'node:crypto';
import { loadYamlFile } from '../config/index.js';
import { z } from 'zod';
import { AclPolicyError } from './errors.js';
import { isValidSubjectPattern } from './subjects.js';

export const ROLES = ['monitor', 'engine', 'handler', 'chaos', 'operator', 'target', 'recorder', 'intake', 'dashboard'] as const;
export type Role = (typeof ROLES)[number];

const Pattern = z.string().refine(isValidSubjectPattern, { message: 'not a valid NATS subject pattern' });
const Direction = z
  .object({ allow: z.array(Pattern).default([]), deny: z.array(Pattern).default([]) })
  .strict();
const Permissions = z
  .object({ publish: Direction.default({ allow: [], deny: [] }), subscribe: Direction.default({ allow: [], deny: [] }) })
  .strict();
const NameRe = /^[A-Za-z0-9_-]+$/;

export const AclPolicySchema = z
  .object({
    roles: z.object(Object.fromEntries(ROLES.map((r) => [r, Permissions])) as Record<Role, typeof Permissions>).strict(),
    actors: z
      .record(z.string().regex(NameRe, 'actor names use letters, digits, "_" or "-"'), Permissions)
      .default({}),
  })
  .strict();
export type AclPolicy = z.infer<typeof AclPolicySchema>;
export type Permissions = z.infer<typeof Permissions>;

/** A user of the generated server config: a role or a named outside actor. */
export interface AclUser {
  user: string;
  password: string;
  permissions: Permissions;
}

/** Loads and checks a policy file; refuses unknown roles, overlapping names and bad subject patterns. */
export function loadAclPolicy(file: string): AclPolicy {
  const policy = loadYamlFile(file, AclPolicySchema);
  const parsed = { data: policy };
  for (const name of Object.keys(parsed.data.actors)) {
    if ((ROLES as readonly string[]).includes(name)) {
      throw new AclPolicyError(file, `actors.${name}: the name overlaps the role "${name}"; pick another actor name`);
    }
  }
  return parsed.data;
}

/** Generates one password per role and actor. */
export function generateUsers(policy: AclPolicy, existing: Record<string, string> = {}): AclUser[] {
  const users: AclUser[] = [];
  for (const role of ROLES) users.push({ user: role, password: existing[role] ?? secret(), permissions: policy.roles[role] });
  for (const [name, perms] of Object.entries(policy.actors)) {
    users.push({ user: name, password: existing[name] ?? secret(), permissions: perms });
  }
  return users;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

/** Renders nats-server's `authorization` block; `blocked` users are left out, so their login is refused and a reload closes their connections. */
export function renderAuthorization(users: AclUser[], blocked: ReadonlySet<string> = new Set()): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;
  const lines = users
    .filter((u) => !blocked.has(u.user))
    .map((u) => {
      const p = u.permissions;
      const dir = (d: { allow: string[]; deny: string[] }) =>
        `{ allow: ${list(d.allow.length ? d.allow : ['_NOTHING_'])}${d.deny.length ? `, deny: ${list(d.deny)}` : ''} }`;
      return `    { user: ${q(u.user)}, password: ${q(u.password)}, permissions: { publish: ${dir(p.publish)}, subscribe: ${dir(p.subscribe)} } }`;
    });
  return `authorization {\n  users: [\n${lines.join(',\n')}\n  ]\n}\n`;
}
