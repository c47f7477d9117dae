import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/setup/bundle.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The integration tests spend most of their time waiting on servers and child processes (one
    // worker kept a 2-core machine about 65% busy), so vitest's default of one worker per core but
    // one (a single worker on 2 cores) ran every file in a row. At least 3 files run side by side.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
