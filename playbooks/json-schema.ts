import { z } from 'zod';
import { PlaybookSchema } from './schema.js';

/**
 * The JSON Schema of playbook files, generated from the zod schema (the input side: durations
 * may be written "10s" or as milliseconds). Committed as `playbooks/schema.json` for editors.
 */
export function playbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PlaybookSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    ...schema,
    title: 'Homeostat playbook',
  };
}

/** The text committed as `playbooks/schema.json`. */
export function playbookJsonSchemaText(): string {
  return `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`;
}
