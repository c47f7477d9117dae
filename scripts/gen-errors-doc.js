// Writes docs/errors.md from the compiled error registry (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../dist/core/errors-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('docs/errors.md written');
