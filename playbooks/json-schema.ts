import { z } from 'zod';
import { ACTION_NAME_PATTERN, PlaybookSchema } from './schema.js';

/** What the JSON Schema says of an action (the handlers' registry entries fit). */
export interface DocumentedAction {
  name: string;
  description: string;
  risk?: string;
  probe?: boolean;
}

/** Replaces every action-name field (the `<handler>.<verb>` pattern) by a reference to the action enum. */
function useActionEnum(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(useActionEnum);
  if (!node || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (o.type === 'string' && o.pattern === ACTION_NAME_PATTERN.source) return { $ref: '#/$defs/action', ...(o.description ? { description: o.description } : {}) };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, useActionEnum(v)]));
}

/**
 * The JSON Schema of playbook files, generated from the zod schema (the input side: durations
 * may be written "10s" or as milliseconds). With `actions` (the action registry), every action
 * field is an enum of their names, each described with its default risk. Committed as
 * `playbooks/schema.json` for editors.
 */
export function playbookJsonSchema(actions?: readonly DocumentedAction[]): Record<string, unknown> {
  const schema = z.toJSONSchema(PlaybookSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  if (!actions) return { ...schema, title: 'Homeostat playbook' };
  const action = {
    type: 'string',
    enum: actions.map((a) => a.name),
    description: `An action the handlers provide:\n${actions.map((a) => `- ${a.name} (risk ${a.risk ?? 'low'}${a.probe ? ', probe' : ''}): ${a.description}`).join('\n')}`,
  };
  const withEnum = useActionEnum(schema) as Record<string, unknown>;
  return { ...withEnum, title: 'Homeostat playbook', $defs: { ...(withEnum.$defs as Record<string, unknown> | undefined), action } };
}

/** The text committed as `playbooks/schema.json`. */
export function playbookJsonSchemaText(actions?: readonly DocumentedAction[]): string {
  return `${JSON.stringify(playbookJsonSchema(actions), null, 2)}\n`;
}
