// Assembles src/scan/keywords.wat (with wabt, a devDependency) into src/scan/keywords-wasm.ts,
// the module's bytes in base64 for src/scan/keywords.ts. `--check` only compares, exiting 1 when
// the committed file is out of date (src/scan/keywords-wasm.test.ts runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import * as prettier from 'prettier';
import wabt from 'wabt';

const source = new URL('../src/scan/keywords.wat', import.meta.url);
const target = new URL('../src/scan/keywords-wasm.ts', import.meta.url);

export async function assemble() {
  const w = await wabt();
  const module = w.parseWat('keywords.wat', readFileSync(source, 'utf8'));
  const { buffer } = module.toBinary({});
  module.destroy();
  return Buffer.from(buffer).toString('base64');
}

export async function render(base64) {
  const text = `/**
 * The keyword automaton's byte loop as WebAssembly, assembled from src/scan/keywords.wat by
 * \`npm run build:wasm\` (scripts/build-wasm.js). Generated: do not edit;
 * src/scan/keywords-wasm.test.ts checks it matches the source.
 *
 * @example
 * \`\`\`ts
 * const module = new WebAssembly.Module(Buffer.from(KEYWORDS_WASM, 'base64'));
 * \`\`\`
 */
export const KEYWORDS_WASM = '${base64}';
`;
  return prettier.format(text, { ...(await prettier.resolveConfig(target)), filepath: target.pathname });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await render(await assemble());
  if (process.argv.includes('--check')) {
    const same = readFileSync(target, 'utf8') === text;
    console.log(same ? 'src/scan/keywords-wasm.ts is up to date' : 'src/scan/keywords-wasm.ts is out of date: npm run build:wasm');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(target, text);
  console.log('src/scan/keywords-wasm.ts written');
}
