/**
 * The generated src/scan/keywords-wasm.ts is the assembly of src/scan/keywords.wat as it is now
 * (`npm run build:wasm` writes it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('keywords-wasm.ts', () => {
  it('matches src/scan/keywords.wat (else run npm run build:wasm)', async () => {
    const { assemble, render } = (await import(new URL('../../scripts/build-wasm.js', import.meta.url).href)) as {
      assemble(): Promise<string>;
      render(base64: string): Promise<string>;
    };
    expect(readFileSync(new URL('./keywords-wasm.ts', import.meta.url), 'utf8')).toBe(await render(await assemble()));
  });
});
