// Writes schema/keyturn.schema.json from the compiled config schema (run `npm run build` first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderJsonSchema } from '../dist/config/json-schema.js';

mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
writeFileSync(new URL('../schema/keyturn.schema.json', import.meta.url), renderJsonSchema());
console.log('schema/keyturn.schema.json written');
