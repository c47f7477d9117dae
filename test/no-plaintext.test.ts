/**
 * A planted marker value never appears in plaintext: not in the SQLite files (database, WAL,
 * shared memory), not in any log line (at trace level), not in any error output, not in any
 * output but the `get` that asks for it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const MARKER = `MARKER-${randomBytes(12).toString('hex')}`;

function count(haystack: string | Buffer, needle: string): number {
  const h = Buffer.isBuffer(haystack) ? haystack : Buffer.from(haystack);
  let n = 0;
  for (let i = h.indexOf(needle); i >= 0; i = h.indexOf(needle, i + 1)) n++;
  return n;
}

describe('no plaintext anywhere', () => {
  const tmp = tempDir();
  const env = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'trace', KEYTURN_MAX_VALUE_BYTES: '4096' };
  const outputs: Array<{ argv: string[]; r: CliResult; getsMarker: boolean }> = [];
  let filesAfterWrites: Array<[string, Buffer]> = [];
  const run = (argv: string[], opts: { stdin?: string; getsMarker?: boolean } = {}) => {
    const r = spawnCli(argv, { env, ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }) });
    outputs.push({ argv, r, getsMarker: !!opts.getsMarker });
    return r;
  };
  const homeFiles = (): Array<[string, Buffer]> => readdirSync(tmp.dir).map((f) => [f, readFileSync(join(tmp.dir, f))]);

  beforeAll(() => {
    run(['init']);
    run(['secret', 'put', 'plant/string', '--stdin'], { stdin: `${MARKER}\n` });
    run(['secret', 'put', 'plant/fields', '--field', 'username=app', '--field', `password=${MARKER}`, '--type', 'database-credential']);
    const file = join(tmp.dir, 'value.json');
    writeFileSync(file, JSON.stringify({ token: MARKER }));
    run(['secret', 'put', 'plant/file', '--file', file, '--json-value']);
    writeFileSync(file, '');
    run(['secret', 'put', 'plant/string', '--stdin', '--version-id', 'fixed'], { stdin: `${MARKER}-2` });
    filesAfterWrites = homeFiles();
    // Reads that print the value on purpose.
    run(['secret', 'get', 'plant/string', '--stage', 'previous'], { getsMarker: true });
    run(['secret', 'get', 'plant/fields', '--field', 'password', '--json'], { getsMarker: true });
    // Everything else must not.
    run(['secret', 'ls', '--json']);
    run(['secret', 'history', 'plant/string', '--json']);
    run(['status', '--json']);
    run(['secret', 'rollback', 'plant/string']);
    run(['key', 'rotate-root', '--yes']);
    run(['secret', 'rm', 'plant/file']);
    run(['secret', 'restore', 'plant/file']);
    // Errors whose input holds the marker.
    run(['secret', 'put', 'plant/string', '--stdin', '--version-id', 'fixed'], { stdin: `${MARKER}-different` });
    run(['secret', 'put', 'plant/big', '--stdin'], { stdin: MARKER.repeat(500) });
    run(['secret', 'put', 'plant/json', '--stdin', '--json-value'], { stdin: `{"password": "${MARKER}"` });
    run(['secret', 'put', 'plant/json', '--stdin', '--json-value'], { stdin: `["${MARKER}"]` });
    run(['secret', 'put', 'plant/field', '--field', MARKER]);
    run(['secret', 'put', 'plant/tag', '--value', 'v', '--tag', MARKER]);
    run(['secret', 'get', 'plant/fields', '--field', 'nope']);
    run(['secret', 'get', 'plant/string', '--field', 'x']);
  });
  afterAll(() => tmp.remove());

  it('the commands ran, and logged at trace level', () => {
    const failures = outputs.filter((o) => o.r.code !== 0);
    expect(failures.length).toBe(8);
    const logLines = outputs.flatMap((o) => o.r.stderr.split('\n')).filter((l) => l.startsWith('{"level"'));
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((l) => l.includes('secret version stored'))).toBe(true);
  });

  it('the values are really stored', () => {
    const got = outputs.filter((o) => o.getsMarker).map((o) => o.r.stdout);
    expect(count(got.join(''), MARKER)).toBe(2);
  });

  it('appears 0 times in the SQLite files', () => {
    const files = [...filesAfterWrites, ...homeFiles()];
    expect(files.some(([f]) => f === 'keyturn.db')).toBe(true);
    for (const [name, bytes] of files) expect(count(bytes, MARKER), name).toBe(0);
  });

  it('appears 0 times in any log line or error output, and in no other output', () => {
    for (const o of outputs) {
      expect(count(o.r.stderr, MARKER), `stderr of ${o.argv.join(' ')}`).toBe(0);
      if (!o.getsMarker) expect(count(o.r.stdout, MARKER), `stdout of ${o.argv.join(' ')}`).toBe(0);
    }
  });
});
