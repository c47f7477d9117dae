/**
 * Units of the scanner: the keyword automaton, the default rules (a real-format fake of each
 * and its look-alike), allowlists and inline comments, the TOML config (gitleaks schema,
 * `[extend] useDefault`, the backtracking check), chunked reads, the baseline, redaction and
 * the SARIF document's shape.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { baselineKey, baselineOf, readBaseline, writeBaseline } from './baseline.js';
import { compileScanConfig, defaultScanConfig, parseScanConfig } from './config.js';
import { Detector } from './detect.js';
import { withFingerprint, type RawFinding } from './finding.js';
import { fromGoRegex } from './go-regex.js';
import { KeywordMatcher } from './keywords.js';
import { CHUNK_BYTES, scanFile } from './read.js';
import { redact, toJsonReport, toSarif } from './report.js';
import { prng, SECRET_TYPES } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'kt-scan-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const defaults = new Detector(compileScanConfig(defaultScanConfig()));
function scan(text: string, file = 'app.ts', detector = defaults): RawFinding[] {
  const out: RawFinding[] = [];
  detector.scanText(text.endsWith('\n') ? text : `${text}\n`, { file, lineBase: 1 }, (f) => out.push(f));
  return out;
}

describe('KeywordMatcher', () => {
  it('finds every occurrence of every keyword, in any case, overlapping ones too', () => {
    const m = new KeywordMatcher(['he', 'she', 'his', 'hers']);
    const hits: string[] = [];
    m.scan('uSHErs his', (k, end) => hits.push(`${m.keywords[k]}@${end}`));
    expect(hits.sort()).toEqual(['he@4', 'hers@6', 'his@10', 'she@4'].sort());
  });

  it('resets on characters outside ASCII', () => {
    const m = new KeywordMatcher(['ab']);
    const hits: number[] = [];
    m.scan('aéb ab', (_, end) => hits.push(end));
    expect(hits).toEqual([6]);
  });

  it('finds the same over bytes (two chains) as over the string, at every split, past its hit arrays and from an offset (seed 21)', async () => {
    const { prng } = await import('./synthetic.js');
    const rng = prng(21);
    const words = ['he', 'she', 'his', 'hers', 'password', 'sk', 'ghp_', 'token'];
    const m = new KeywordMatcher(words);
    for (let round = 0; round < 200; round++) {
      // Keywords packed densely (thousands of hits: the arrays grow) or sparsely, around the middle too.
      const parts: string[] = [];
      const count = round === 0 ? 3000 : Math.floor(rng() * 120);
      for (let i = 0; i < count; i++) parts.push(rng() < 0.5 ? words[Math.floor(rng() * words.length)]!.toUpperCase() : 'xyz .=\n'.slice(0, 1 + Math.floor(rng() * 7)));
      const text = parts.join('');
      const pad = Math.floor(rng() * 5);
      const bytes = Buffer.from(`${'#'.repeat(pad)}${text}!!`, 'latin1');
      const onString = m.find(text, 0, text.length);
      const expected = [...m.hitEnd.subarray(0, onString)].map((e, i) => `${m.hitState[i]}@${e}`);
      const onBytes = m.findBytes(bytes, pad, pad + text.length);
      expect([...m.hitEnd.subarray(0, onBytes)].map((e, i) => `${m.hitState[i]}@${e}`)).toEqual(expected);
      const inTs = m.findBytesInTs(bytes, pad, pad + text.length);
      expect([...m.hitEnd.subarray(0, inTs)].map((e, i) => `${m.hitState[i]}@${e}`)).toEqual(expected);
    }
  });

  it('keeps an automaton too large for 16-bit table entries on the TypeScript byte loop, with the same hits (seed 22)', async () => {
    const { prng } = await import('./synthetic.js');
    const rng = prng(22);
    const word = (): string => Array.from({ length: 10 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rng() * 36)]).join('');
    const words = Array.from({ length: 400 }, word);
    const m = new KeywordMatcher(words);
    expect(m.states * 37).toBeGreaterThan(0xffff);
    const text = Array.from({ length: 2000 }, () => (rng() < 0.3 ? words[Math.floor(rng() * words.length)]! : word())).join(' ');
    const onString = m.find(text, 0, text.length);
    const expected = [...m.hitEnd.subarray(0, onString)].map((e, i) => `${m.hitState[i]}@${e}`);
    expect(onString).toBeGreaterThan(400);
    const onBytes = m.findBytes(Buffer.from(text, 'latin1'), 0, text.length);
    expect([...m.hitEnd.subarray(0, onBytes)].map((e, i) => `${m.hitState[i]}@${e}`)).toEqual(expected);
  });
});

describe('default rules', () => {
  it.each(SECRET_TYPES.map((t) => t.type))('finds a planted %s and not its decoys (seed 11)', (type) => {
    const t = SECRET_TYPES.find((x) => x.type === type)!;
    const r = prng(11);
    for (let i = 0; i < 20; i++) {
      const { text, secret } = t.plant(r);
      const found = scan(text);
      expect(found.map((f) => f.ruleId)).toEqual([type]);
      expect(secret.includes(found[0]!.secret) || found[0]!.secret.includes(secret)).toBe(true);
      expect(scan(t.decoy(r))).toEqual([]);
    }
  });

  it('runs only the PEM rule on windows of several lines, every other on its keyword line', () => {
    expect(
      compileScanConfig(defaultScanConfig())
        .rules.filter((r) => r.multiline)
        .map((r) => r.id),
    ).toEqual(['private-key']);
  });

  it('reports the secret group, line and 1-based columns', () => {
    const [f] = scan('x\n  url = "postgres://app:Zx81kQ2mLp4R@db.internal/app"\n');
    expect(f).toMatchObject({ ruleId: 'database-url-password', secret: 'Zx81kQ2mLp4R', line: 2, column: 25, endLine: 2, endColumn: 36 });
  });

  it('reports an overlapping secret once, under the more specific rule', () => {
    expect(scan('api_key = "ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru"').map((f) => f.ruleId)).toEqual(['github-token']);
  });

  it('does not report placeholders, examples, hashes, UUIDs, SRI values or lock files', () => {
    const lines = [
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'token = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
      'password = "${DB_PASSWORD}"',
      'api_key = "<your-key>"',
      'secret_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
      'client_secret = "6f1e3a52-8c4b-4d8e-9f2a-1b3c5d7e9f01"',
      'secret: "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"',
    ];
    for (const l of lines) expect(scan(l), l).toEqual([]);
    expect(scan('"resolved": "x", "token": "ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru"', 'web/package-lock.json')).toEqual([]);
    expect(defaults.skipsFile('a/yarn.lock')).toBe(true);
  });

  it('skips a line with keyturn:allow or gitleaks:allow', () => {
    expect(scan('t = "ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru" # keyturn:allow')).toEqual([]);
    expect(scan('t = "ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru" // gitleaks:allow')).toEqual([]);
  });

  it('finds a secret far into a line longer than the line cap', () => {
    const line = `${'var a=1;'.repeat(20_000)}k="npm_${'Qb7rT2mX9k'.repeat(3)}Lp4Wz8"${';b=2'.repeat(1000)}`;
    expect(scan(line).map((f) => [f.ruleId, f.column])).toEqual([['npm-token', 160_004]]);
  });
});

describe('config', () => {
  it('loads a gitleaks config: its rules only, Go flags translated, allowlists of both spellings', () => {
    const config = parseScanConfig(
      `
title = "org"
[[rules]]
id = "acme-token"
description = "Acme token"
regex = '''(?i)\\b(acme_[a-z0-9]{32})\\b'''
keywords = ["acme_"]
[rules.allowlist]
stopwords = ["deadbeef"]
[[allowlists]]
paths = ['''^vendor/''']
`,
      'org.toml',
    );
    const d = new Detector(compileScanConfig(config));
    expect(scan('k = ACME_q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6', 'a.ts', d).map((f) => f.ruleId)).toEqual(['acme-token']);
    expect(scan('k = acme_deadbeefq1w2e3r4t5y6u7i8o9p0a1s2', 'a.ts', d)).toEqual([]);
    expect(scan('k = acme_q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6', 'vendor/x.ts', d)).toEqual([]);
    expect(scan('t = ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru', 'a.ts', d)).toEqual([]);
  });

  it('[extend] useDefault adds to the default rules; disabledRules drops some', () => {
    const config = parseScanConfig('[extend]\nuseDefault = true\ndisabledRules = ["npm-token"]\n[[rules]]\nid = "acme"\nregex = "acme_[0-9]{8}"\nkeywords = ["acme_"]\n', 'x.toml');
    const d = new Detector(compileScanConfig(config));
    expect(scan('a = acme_12345678\nb = ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru\nc = npm_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7R', 'a.ts', d).map((f) => f.ruleId)).toEqual(['acme', 'github-token']);
  });

  it('refuses a regex that can backtrack catastrophically, with KT_SCAN_REGEX_UNSAFE', () => {
    const config = parseScanConfig('[[rules]]\nid = "bad"\nregex = "(a+)+b"\n', 'bad.toml');
    try {
      compileScanConfig(config);
      expect.unreachable();
    } catch (err) {
      expect(isKeyturnError(err, 'KT_SCAN_REGEX_UNSAFE')).toBe(true);
      expect((err as Error).message).toContain('bad.toml: rule bad.regex');
    }
  });

  it('names the line of a TOML syntax error and a wrong field, with KT_SCAN_CONFIG_INVALID', () => {
    expect(() => parseScanConfig('[[rules]\nid = 1', 'x.toml')).toThrow(/x\.toml: TOML syntax error at line 1/);
    expect(() => parseScanConfig('[[rules]]\nid = "a"\nentropy = "high"\n', 'x.toml')).toThrow(/rule a\.entropy must be a number/);
    expect(
      () =>
        parseScanConfig('[[rules]]\nid = "a"\nregex = "x"\n[[rules]]\nid = "a"\nregex = "y"\n', 'x.toml') &&
        compileScanConfig(parseScanConfig('[[rules]]\nid = "a"\nregex = "x"\n[[rules]]\nid = "a"\nregex = "y"\n', 'x.toml')),
    ).toThrow(/rule id a is given twice/);
  });

  it('translates Go regex syntax', () => {
    expect(fromGoRegex('(?i)key(?P<v>[[:alnum:]]{4})\\z')).toEqual({ source: 'key(?<v>[A-Za-z0-9]{4})$(?![\\s\\S])', flags: 'i' });
    expect(fromGoRegex('a(?i)b')).toEqual({ source: 'a(?i:b)', flags: '' });
  });
});

describe('chunked reads', () => {
  it('finds secrets on both sides of chunk boundaries, a PEM block across one, with the right line numbers', async () => {
    const filler = `${'const a = 1; // filler line of some length\n'.repeat(Math.ceil(CHUNK_BYTES / 44))}`;
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7RuQb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5G\n'.repeat(30)}-----END RSA PRIVATE KEY-----\n`;
    // The key starts ~1 KB before the first chunk's end and ends after it.
    const head = filler.slice(0, CHUNK_BYTES - 1000);
    const cut = head.lastIndexOf('\n') + 1;
    const text = `${head.slice(0, cut)}${key}${filler}t = ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru\n`;
    const path = join(dir, 'big.txt');
    writeFileSync(path, text);
    const found: RawFinding[] = [];
    scanFile(defaults, path, 'big.txt', (f) => found.push(f));
    const lineOf = (needle: string): number => text.slice(0, text.indexOf(needle)).split('\n').length;
    expect(found.map((f) => [f.ruleId, f.line])).toEqual([
      ['private-key', lineOf('-----BEGIN')],
      ['github-token', lineOf('ghp_')],
    ]);
  });

  it('skips a binary file', async () => {
    const path = join(dir, 'bin.dat');
    writeFileSync(path, Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('t = ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru\n')]));
    const found: RawFinding[] = [];
    expect(scanFile(defaults, path, 'bin.dat', (f) => found.push(f))).toBe(0);
    expect(found).toEqual([]);
  });
});

describe('outputs', () => {
  const secret = 'ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru';
  const finding = withFingerprint(scan(`t = ${secret}`)[0]!);

  it('redacts the secret in every output', () => {
    expect(redact(secret)).toBe('ghp_********');
    expect(redact('hunter22')).toBe('h********');
    const rules = compileScanConfig(defaultScanConfig()).rules;
    for (const doc of [toJsonReport([finding], { files: 1, bytes: 1, seconds: 0, known: 0 }), toSarif([finding], rules, '0.1.0')]) {
      const text = JSON.stringify(doc);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(4));
    }
  });

  it('writes SARIF 2.1.0: the rules, one result per finding with region and fingerprints', () => {
    const rules = compileScanConfig(defaultScanConfig()).rules;
    const sarif = toSarif([finding], rules, '0.1.0') as { version: string; runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<Record<string, unknown>> }> };
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id)).toContain('github-token');
    const result = run.results[0]!;
    expect(result).toMatchObject({
      ruleId: 'github-token',
      ruleIndex: run.tool.driver.rules.findIndex((r) => r.id === 'github-token'),
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'app.ts', uriBaseId: '%SRCROOT%' }, region: { startLine: 1, startColumn: 5, endLine: 1, endColumn: 45 } } }],
      partialFingerprints: { 'keyturnSecret/v1': finding.fingerprint },
    });
  });

  it('keys the baseline by content and file: moving a line keeps it, a new secret in place is new', async () => {
    const before = withFingerprint(scan(`a\nt = ${secret}`)[0]!);
    const moved = withFingerprint(scan(`a\nb\nc\nt = ${secret}`)[0]!);
    const swapped = withFingerprint(scan('a\nt = ghp_Zz7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru')[0]!);
    const path = join(dir, 'baseline.json');
    await writeBaseline(path, [before]);
    const known = await readBaseline(path);
    expect(known.has(baselineKey(moved))).toBe(true);
    expect(known.has(baselineKey(swapped))).toBe(false);
    expect(JSON.stringify(baselineOf([before]))).not.toMatch(/line|time|ghp_/);
    writeFileSync(path, '{"version":2}');
    await expect(readBaseline(path)).rejects.toMatchObject({ code: 'KT_SCAN_BASELINE_INVALID' });
  });
});

describe('worker threads', () => {
  it('find the same as the main thread on a tree large enough to use them (seed 5)', async () => {
    const { generateCorpus } = await import('./synthetic.js');
    const { runScan } = await import('./scan.js');
    const { workerScript, PARALLEL_MIN_BYTES, PARALLEL_MIN_FILES } = await import('./pool.js');
    expect(workerScript(), 'dist/scan/scan-worker.js is built (npm run build)').toBeDefined();
    const { mkdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const tree = join(dir, 'workers');
    const files = generateCorpus({ seed: 5, files: PARALLEL_MIN_FILES + 16, linesPerFile: Math.ceil(PARALLEL_MIN_BYTES / 40 / 50), secretsPerFile: 2, decoysPerFile: 2 });
    for (const f of files) {
      mkdirSync(dirname(join(tree, f.path)), { recursive: true });
      writeFileSync(join(tree, f.path), f.text);
    }
    const alone = await runScan({ cwd: tree, paths: ['.'], workers: 0 });
    const parallel = await runScan({ cwd: tree, paths: ['.'], workers: 2 });
    expect([alone.threads, parallel.threads]).toEqual(['one', 'workers']);
    expect(alone.bytes).toBeGreaterThanOrEqual(PARALLEL_MIN_BYTES);
    expect(parallel.findings.map((f) => `${f.file}:${f.line}:${f.ruleId}:${f.fingerprint}`)).toEqual(alone.findings.map((f) => `${f.file}:${f.line}:${f.ruleId}:${f.fingerprint}`));
    expect(alone.findings.length).toBeGreaterThan(100);
  });
});
