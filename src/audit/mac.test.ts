import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headMac, headMacValid, hmacSha256, leafMac, leafMacV2, leafMacValid } from './mac.js';
import type { Head } from './repo.js';

describe('audit MACs', () => {
  it('hmacSha256 is HMAC-SHA-256 (RFC 4231 case 2 and random keys of every length class)', () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expect(Buffer.from(hmacSha256(Buffer.from('Jefe'), [Buffer.from('what do ya want for nothing?')]), 'base64').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    for (const len of [0, 1, 32, 64, 65, 200]) {
      const key = randomBytes(len);
      const parts = [randomBytes(7), randomBytes(32)];
      expect(hmacSha256(key, parts)).toBe(createHmac('sha256', key).update(Buffer.concat(parts)).digest('base64'));
    }
  });

  it('a leaf MAC holds for its leaf hash only, and under its key only', () => {
    const key = randomBytes(32);
    const h = randomBytes(32);
    const mac = leafMac(key, h);
    expect(leafMacValid(key, h, mac)).toBe(true);
    expect(leafMacValid(key, randomBytes(32), mac)).toBe(false);
    expect(leafMacValid(randomBytes(32), h, mac)).toBe(false);
    expect(leafMacValid(key, h, null)).toBe(false);
    expect(leafMacValid(key, h, undefined)).toBe(false);
    expect(mac).toBe(createHmac('sha256', key).update('keyturn-leaf-mac/v1\0').update(h).digest('base64'));
  });

  it('v2 leaf MACs: keyed SHA-256 under a key derived by HMAC, fixed-length input; v1 MACs of old rows still verify', () => {
    const key = randomBytes(32);
    const h = randomBytes(32);
    const mac = leafMacV2(key, h);
    const k2 = createHmac('sha256', key).update('keyturn-leaf-mac/v2 key').digest();
    const expected = createHash('sha256')
      .update(Buffer.concat([k2, Buffer.alloc(32), Buffer.from('keyturn-leaf-mac/v2\0'), h]))
      .digest('base64');
    expect(mac).toBe(expected);
    expect(mac).toHaveLength(44);
    expect(leafMacValid(key, h, mac)).toBe(true);
    expect(leafMacValid(key, randomBytes(32), mac)).toBe(false);
    expect(leafMacValid(randomBytes(32), h, mac)).toBe(false);
    expect(mac).not.toBe(leafMac(key, h));
    // Old rows carry v1 MACs: still valid for their own leaf hash and key only.
    expect(leafMacValid(key, h, leafMac(key, h))).toBe(true);
    expect(leafMacValid(key, randomBytes(32), leafMac(key, h))).toBe(false);
    expect(leafMacValid(randomBytes(32), h, leafMac(key, h))).toBe(false);
  });

  it('a head MAC covers every column the appender resumes from', () => {
    const key = randomBytes(32);
    const base: Head = { size: 3, prev: 'ab'.repeat(32), nodes: [randomBytes(32), randomBytes(32)], lastEventAt: 1000, checkpointSize: 2, checkpointAt: 900, mac: null };
    const head = { ...base, mac: headMac(key, base) };
    expect(headMacValid(key, head)).toBe(true);
    for (const change of [{ size: 4 }, { prev: 'cd'.repeat(32) }, { nodes: [randomBytes(32), randomBytes(32)] }, { lastEventAt: 1 }, { checkpointSize: 3 }, { checkpointAt: null }]) {
      expect(headMacValid(key, { ...head, ...change })).toBe(false);
    }
    expect(headMacValid(key, base)).toBe(false);
  });
});
