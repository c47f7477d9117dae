// Vite's build of the web dashboard (ui/, docs/ui.md) into dist/ui/, served by `keyturn server` at /ui.
// Preact through esbuild's automatic JSX runtime: no plugin. Run by `npm run build:ui` (part of build and prepare).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: here('../dist/ui'), emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: false },
});
