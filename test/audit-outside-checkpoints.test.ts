/**
 * Truncation caught without a flag: every signed checkpoint is shipped to the JSONL audit sink,
 * and `audit verify` checks the state database against the checkpoints it reads back from it.
 * The attack: cut the tail events and their checkpoints from the SQLite state database and put
 * back an old head row (it carries a valid MAC: it was the real head once). Nothing inside the
 * database shows it; the sink's checkpoints do. A tampered sink checkpoint is named, not skipped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

interface Verified {
  ok: boolean;
  size: number;
  problems: { kind: string; code: string; source?: string; size?: number; expectedSize?: number }[];
  outside: { checkpoints: number; newest: { source: string; size: number } | null; warning: string | null; sinks: { name: string; readable: boolean; checkpoints: number }[] };
}

type HeadRow = Record<string, string | number | null>;

let base: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let sinkFile: string;
let dbFile: string;

/** Writes `n` secrets (a put and a read each) through an open Keyturn; closing it feeds the sink. */
async function writeEvents(n: number, from: number): Promise<void> {
  const kt = await openKeyturn(loadSettings(env), { audit: { actor: 'user:fixture', source: 'cli', correlationId: 'fixture' } });
  try {
    for (let i = from; i < from + n; i++) {
      await kt.store.put(`app/s${i}`, `value-${i}`);
      await kt.store.get(`app/s${i}`);
    }
  } finally {
    await kt.close();
  }
}

function withDb<T>(fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(dbFile);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function verify(extraEnv: Record<string, string | undefined> = {}, args: string[] = []): Promise<{ code: number; data: Verified; text: string }> {
  const json = await runCli(['audit', 'verify', '--json', ...args], { env: { ...env, ...extraEnv } });
  const text = await runCli(['audit', 'verify', ...args], { env: { ...env, ...extraEnv } });
  expect(text.code).toBe(json.code);
  return { code: json.code, data: JSON.parse(json.stdout) as Verified, text: text.stdout };
}

beforeEach(async () => {
  base = tempDir();
  const home = join(base.dir, 'home');
  sinkFile = join(home, 'audit.jsonl');
  dbFile = join(home, 'keyturn.db');
  env = { KEYTURN_HOME: home, KEYTURN_AUDIT_CHECKPOINT_EVERY: '5', KEYTURN_AUDIT_JSONL: 'audit.jsonl', KEYTURN_LOG_LEVEL: 'silent' };
  expect((await runCli(['init'], { env })).code).toBe(0);
  await writeEvents(5, 0);
});
afterEach(() => base.remove());

describe('checkpoints are shipped to the JSONL sink as their own record kind', () => {
  it('after the events they cover, each once', async () => {
    const lines = readFileSync(sinkFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind?: string; seq?: number; size?: number; note?: string });
    const stored = withDb((db) => db.prepare('SELECT size, note FROM audit_checkpoints ORDER BY size').all() as { size: number; note: string }[]);
    const shipped = lines.filter((l) => l.kind === 'checkpoint');
    expect(shipped.map((c) => [c.size, c.note])).toEqual(stored.map((c) => [c.size, c.note]));
    // Each checkpoint line comes after the last event it covers.
    lines.forEach((l, i) => {
      if (l.kind === 'checkpoint') expect(lines.slice(0, i).filter((e) => e.kind === undefined).length).toBeGreaterThanOrEqual(l.size as number);
    });
    await writeEvents(1, 100);
    const again = readFileSync(sinkFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind?: string; size?: number });
    const sizes = again.filter((l) => l.kind === 'checkpoint').map((l) => l.size);
    expect(new Set(sizes).size).toBe(sizes.length);
  });
});

describe('audit verify reads the sink checkpoints by default', () => {
  it('passes on an intact log and says which outside checkpoint it used', async () => {
    const { code, data, text } = await verify();
    expect(code).toBe(0);
    expect(data.ok).toBe(true);
    expect(data.outside.checkpoints).toBeGreaterThan(0);
    expect(data.outside.newest?.source).toMatch(new RegExp(`^jsonl:${sinkFile.replace(/[/.]/g, '\\$&')}:\\d+$`));
    expect(data.outside.warning).toBeNull();
    expect(text).toContain(`from jsonl:${sinkFile}:`);
  });

  it('fails naming truncation when tail events, their checkpoints and the head row were cut back in the database', async () => {
    const oldHead = withDb((db) => db.prepare('SELECT * FROM audit_head WHERE id = 1').get() as HeadRow);
    await writeEvents(6, 10);
    const size = Number(oldHead.size);
    withDb((db) => {
      db.prepare('DELETE FROM audit_leaves WHERE seq >= ?').run(size);
      db.prepare('DELETE FROM audit_checkpoints WHERE size > ?').run(size);
      const cols = Object.keys(oldHead).filter((c) => c !== 'id');
      db.prepare(`UPDATE audit_head SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = 1`).run(...cols.map((c) => oldHead[c] as string | number | null));
    });

    // Without the sink nothing in the database shows the cut (what `audit verify` did before), and it says so.
    const blind = await verify({ KEYTURN_AUDIT_JSONL: undefined });
    expect(blind.code).toBe(0);
    expect(blind.data.outside.warning).toMatch(/cannot be detected/);
    expect(blind.text).toMatch(/cannot be detected/);

    const { code, data, text } = await verify();
    expect(code).not.toBe(0);
    expect(data.ok).toBe(false);
    const truncated = data.problems.find((p) => p.kind === 'truncated');
    expect(truncated).toMatchObject({ code: 'KT_AUDIT_TRUNCATED', size });
    expect(truncated?.source).toContain(`jsonl:${sinkFile}:`);
    expect(truncated?.expectedSize).toBeGreaterThan(size);
    expect(text).toMatch(/KT_AUDIT_TRUNCATED\s+truncated/);
  });

  it('names a sink checkpoint whose signature does not verify', async () => {
    const lines = readFileSync(sinkFile, 'utf8').split('\n');
    const at = lines.findLastIndex((l) => l.includes('"kind":"checkpoint"'));
    const line = JSON.parse(lines[at] as string) as { kind: string; size: number; note: string };
    // Claim a larger size under the same signature.
    lines[at] = JSON.stringify({ ...line, size: line.size + 50, note: line.note.replace(`\n${line.size}\n`, `\n${line.size + 50}\n`) });
    writeFileSync(sinkFile, lines.join('\n'));
    const { code, data, text } = await verify();
    expect(code).not.toBe(0);
    const bad = data.problems.find((p) => p.kind === 'trusted_invalid');
    expect(bad).toMatchObject({ code: 'KT_AUDIT_SIGNATURE_INVALID', source: `jsonl:${sinkFile}:${at + 1}` });
    expect(data.problems.some((p) => p.kind === 'truncated')).toBe(false);
    expect(text).toContain(`jsonl:${sinkFile}:${at + 1}`);
  });
});
