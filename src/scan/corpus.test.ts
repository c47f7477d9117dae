/**
 * The corpus test: a seeded corpus (src/scan/synthetic.ts) of 400 files with planted fake
 * secrets of every type and look-alike decoys, written to a temporary folder and scanned the way
 * `keyturn scan` does (walk, chunked reads, default rules). Prints recall and precision per type
 * and asserts both are at least 0.95 overall and every type is found at least once. The seed is
 * new every run unless KEYTURN_SCAN_SEED is set; it is in the test name to replay a run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScan } from './scan.js';
import { evaluate, formatScore, generateCorpus, SECRET_TYPES } from './synthetic.js';

const SEED = Number(process.env.KEYTURN_SCAN_SEED ?? Math.floor(Math.random() * 1e9));
const dir = mkdtempSync(join(tmpdir(), 'kt-scan-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scan corpus', () => {
  it(`finds planted secrets with recall and precision >= 0.95 (seed ${SEED})`, async () => {
    const files = generateCorpus({ seed: SEED, files: 400, linesPerFile: 80, secretsPerFile: 2, decoysPerFile: 2 });
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.text);
    }
    const { findings } = await runScan({ cwd: dir, paths: ['.'], workers: 0 });
    const score = evaluate(files, findings);
    console.log(`scan corpus, seed ${SEED}:\n${formatScore(score)}`);
    // To replay a miss or a false alarm: the first few, by place (the values are fake).
    const at = new Set(findings.map((f) => `${f.file}:${f.line}`));
    const labelled = new Set(files.flatMap((f) => f.labels.filter((l) => l.kind === 'secret').map((l) => `${f.path}:${l.line}`)));
    const text = (key: string): string => {
      const [file, line] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      return files.find((f) => f.path === file)!.text.split('\n')[line - 1]!;
    };
    for (const key of [...labelled].filter((k) => !at.has(k)).slice(0, 5)) console.log(`missed ${key}: ${text(key)}`);
    for (const key of [...at].filter((k) => !labelled.has(k)).slice(0, 5)) console.log(`false alarm ${key}: ${text(key)}`);
    expect(score.overall.planted).toBeGreaterThan(700);
    expect(score.overall.recall).toBeGreaterThanOrEqual(0.95);
    expect(score.overall.precision).toBeGreaterThanOrEqual(0.95);
    for (const t of SECRET_TYPES) {
      const s = score.byType.find((x) => x.type === t.type);
      expect(s?.found ?? 0, t.type).toBeGreaterThan(0);
    }
  });
});
