/**
 * The JSON Schema of keyturn.yaml, generated from the zod schema, for editors
 * (`# yaml-language-server: $schema=./schema/keyturn.schema.json`). `npm run schema` writes
 * schema/keyturn.schema.json; a snapshot test fails when it is stale.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

export function keyturnJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://keyturn.dev/schema/keyturn.schema.json',
    title: 'keyturn.yaml',
  };
}

export function renderJsonSchema(): string {
  return `${JSON.stringify(keyturnJsonSchema(), null, 2)}\n`;
}
