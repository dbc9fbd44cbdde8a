import { z } from 'zod';
import type { ActionSpec } from './action.js';

/** README.md holds the generated table between these two lines. */
export const ACTION_TABLE_START = '<!-- action-table:start (generated from the action registry: homeostat playbooks actions --write-readme README.md) -->';
export const ACTION_TABLE_END = '<!-- action-table:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** `name`, `name?` (optional) or `name = default`: each field of the params object tried with no value. */
function paramList(spec: ActionSpec): string {
  const shape = spec.params instanceof z.ZodObject ? (spec.params.shape as Record<string, z.ZodType>) : {};
  const names = Object.entries(shape).map(([k, field]) => {
    const empty = field.safeParse(undefined);
    if (!empty.success) return `\`${k}\``;
    return empty.data === undefined ? `\`${k}?\`` : `\`${k} = ${JSON.stringify(empty.data)}\``;
  });
  return names.join(', ') || '—';
}

/** README's action table, one row per registered action, in registry order. */
export function renderActionTable(specs: readonly ActionSpec[]): string {
  const rows = specs.map((a) =>
    `| \`${a.name}\` | ${cell(paramList(a))} | ${a.risk} | ${a.idempotent ? 'yes' : 'no'} | ${a.probe ? 'yes' : 'no'} | ${cell(a.description)}${a.returns ? ` Returns ${cell(a.returns)}` : ''} |`,
  );
  return ['| action | parameters | risk | idempotent | probe | does |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the table markers replaced by `table`; throws when the markers are missing. */
export function replaceActionTable(readme: string, table: string): string {
  const start = readme.indexOf(ACTION_TABLE_START);
  const end = readme.indexOf(ACTION_TABLE_END);
  if (start < 0 || end < start) throw new Error(`README has no action table markers (${ACTION_TABLE_START} … ${ACTION_TABLE_END})`);
  return `${readme.slice(0, start + ACTION_TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
