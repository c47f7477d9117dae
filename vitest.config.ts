import { availableParallelism } from 'node:os';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The files that take longest (many processes or long sequences each). Vitest starts the longest
 * files first when it knows their times from an earlier run, else the largest files first; these
 * are small files (crash-*.test.ts: a line each) that would otherwise start last and run alone at
 * the end. A file missing here only starts later.
 */
const LONG = /\/test\/(crash-[a-z-]+|lockout-fuzz|zero-downtime|readme-tour|scheduler-instances|replicas-two-cloud|replicas-fallback)\.test\.ts$/;

class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((f) => LONG.test(f.moduleId)), ...sorted.filter((f) => !LONG.test(f.moduleId))];
  }
}

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
    sequence: { sequencer: LongFirst },
  },
});
