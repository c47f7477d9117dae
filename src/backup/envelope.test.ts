/**
 * The backup envelope on its own: round trips over chunk boundaries for both modes, and every
 * kind of damage (each byte flipped, every cut, chunks reordered, duplicated, appended, a header
 * asking for an absurd scrypt cost) refused with a KT_BACKUP_* code. A low scrypt cost keeps it
 * fast; the CLI tests use the real one.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { CHUNK_BYTES, generateRecipientKeys, MAGIC, openBackup, parseIdentityKey, parseRecipientKey, sealBackup } from './envelope.js';

const FAST = { scrypt: { N: 1024, r: 8, p: 1 } };
const key = { passphrase: 'pass phrase' };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKeyturnError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

/** The chunks of a sealed file (each with its length prefix) after the header. */
function chunks(file: Buffer): { head: Buffer; parts: Buffer[] } {
  const end = MAGIC.length + 4 + file.readUInt32BE(MAGIC.length);
  const parts: Buffer[] = [];
  for (let at = end; at < file.length;) {
    const len = file.readUInt32BE(at);
    parts.push(file.subarray(at, at + 4 + len));
    at += 4 + len;
  }
  return { head: file.subarray(0, end), parts };
}

describe('backup envelope', () => {
  it('round-trips empty, one-chunk, exact-boundary and multi-chunk payloads, to a passphrase and to a recipient', () => {
    const keys = generateRecipientKeys();
    const pub = parseRecipientKey(keys.publicPem, 'pub');
    const priv = parseIdentityKey(keys.privatePem, 'priv');
    for (const size of [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 7]) {
      const payload = randomBytes(size);
      expect(openBackup(sealBackup(payload, key, FAST), key).equals(payload)).toBe(true);
      expect(openBackup(sealBackup(payload, { recipient: pub }), { identity: priv }).equals(payload)).toBe(true);
    }
  });

  it('every single flipped bit of a small file is refused', () => {
    const file = sealBackup(randomBytes(100), key, FAST);
    for (let i = 0; i < file.length; i++) {
      const copy = Buffer.from(file);
      copy[i] = copy[i]! ^ 0x01;
      expect(['KT_BACKUP_CORRUPT', 'KT_BACKUP_DECRYPT_FAILED'], `byte ${i}`).toContain(code(() => openBackup(copy, key)));
    }
  });

  it('every cut of a three-chunk file is refused, as are reordered, repeated, dropped and appended chunks', () => {
    const file = sealBackup(randomBytes(2 * CHUNK_BYTES + 10), key, FAST);
    const { head, parts } = chunks(file);
    expect(parts.length).toBe(3);
    const boundaries = [head.length, head.length + parts[0]!.length, head.length + parts[0]!.length + parts[1]!.length];
    for (const cut of [0, 3, 8, 11, head.length - 1, ...boundaries, boundaries[1]! + 5, file.length - 1]) {
      expect(['KT_BACKUP_CORRUPT', 'KT_BACKUP_DECRYPT_FAILED'], `cut at ${cut}`).toContain(code(() => openBackup(file.subarray(0, cut), key)));
    }
    const [a, b, c] = parts as [Buffer, Buffer, Buffer];
    for (const [label, body] of [
      ['swapped', [b, a, c]],
      ['last two swapped', [a, c, b]],
      ['repeated', [a, a, b, c]],
      ['middle dropped', [a, c]],
      ['appended', [a, b, c, c]],
      ['a chunk of another file', [a, chunks(sealBackup(randomBytes(2 * CHUNK_BYTES + 10), key, FAST)).parts[1]!, c]],
    ] as Array<[string, Buffer[]]>) {
      expect(
        code(() => openBackup(Buffer.concat([head, ...body]), key)),
        label,
      ).toBe('KT_BACKUP_CORRUPT');
    }
    // Trailing garbage that is not a chunk.
    expect(code(() => openBackup(Buffer.concat([file, Buffer.from([0, 0, 0, 1, 9])]), key))).toBe('KT_BACKUP_CORRUPT');
  });

  it('a wrong passphrase, a wrong identity and the wrong kind of key are told apart', () => {
    const file = sealBackup(randomBytes(10), key, FAST);
    expect(code(() => openBackup(file, { passphrase: 'other' }))).toBe('KT_BACKUP_DECRYPT_FAILED');
    // The right passphrase and a damaged (only) chunk: damage, not a wrong key.
    const damaged = Buffer.from(file);
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x80;
    expect(code(() => openBackup(damaged, key))).toBe('KT_BACKUP_CORRUPT');
    const k = generateRecipientKeys();
    expect(code(() => openBackup(file, { identity: parseIdentityKey(k.privatePem, 'k') }))).toBe('KT_BACKUP_KEY_INVALID');
    const toK = sealBackup(randomBytes(10), { recipient: parseRecipientKey(k.publicPem, 'k') });
    expect(code(() => openBackup(toK, { identity: parseIdentityKey(generateRecipientKeys().privatePem, 'other') }))).toBe('KT_BACKUP_DECRYPT_FAILED');
    expect(code(() => openBackup(toK, key))).toBe('KT_BACKUP_KEY_INVALID');
    expect(code(() => parseRecipientKey('not a key', 'x'))).toBe('KT_BACKUP_KEY_INVALID');
  });

  it('a header asking for a huge scrypt cost is refused before scrypt runs', () => {
    const file = sealBackup(randomBytes(10), key, FAST);
    const header = JSON.parse(file.subarray(12, 12 + file.readUInt32BE(8)).toString()) as { kdf: { N: number } };
    header.kdf.N = 2 ** 30;
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    const forged = Buffer.concat([MAGIC, len, json, file.subarray(12 + file.readUInt32BE(8))]);
    expect(code(() => openBackup(forged, key))).toBe('KT_BACKUP_CORRUPT');
  });
});
