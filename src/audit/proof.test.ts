// The tree is the RFC 6962 reference tree of github.com/transparency-dev/merkle testonly/constants.go
// (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1) and the audit path for leaf 5 of 8 is the vector
// from proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472). The error cases follow
// TestVerifyTLogProofErrors in transparency-dev/merkle proof/tlog_proof_test.go (commit
// 0db3ecde5eacb1b7602628e805fb623877b39637); the format is github.com/C2SP/C2SP tlog-proof.md
// (commit 0065ea5b716154a2dd48508e3f905012a16ce5e9). The signing key is the PeterNeumann test key
// of github.com/golang/mod sumdb/note/note_test.go.
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from './checkpoint.js';
import { leafHash, rootHash } from './merkle.js';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from './note-key.js';
import { TLOG_PROOF_HEADER, createTlogProof, encodeTlogProof, parseTlogProof, verifyTlogProof } from './proof.js';
import { codeOf, PETER_SKEY, PETER_VKEY } from '../../test/helpers/audit-vectors.js';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const PATH_5_OF_8 = [
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
];
const ORIGIN = 'PeterNeumann';

const hashes = LEAVES.map(leafHash);
const checkpoint = signCheckpoint({ origin: ORIGIN, size: 8, root: rootHash(hashes) }, parseSignerKey(PETER_SKEY));
const verifier = parseVerifierKey(PETER_VKEY);

describe('tlog-proof', () => {
  it('writes the C2SP text form with the RFC 6962 audit path', () => {
    const text = createTlogProof(5, hashes, checkpoint);
    const b64 = PATH_5_OF_8.map((h) => Buffer.from(h, 'hex').toString('base64'));
    expect(text).toBe(`${TLOG_PROOF_HEADER}\nindex 5\n${b64.join('\n')}\n\n${checkpoint}`);
  });

  it('verifies every leaf of the reference tree, with and without extra data', () => {
    for (let i = 0; i < 8; i++) {
      expect(verifyTlogProof(createTlogProof(i, hashes, checkpoint), hashes[i]!, verifier, { origin: ORIGIN })).toMatchObject({ index: i, checkpoint: { size: 8 } });
    }
    const extra = Buffer.from('opaque');
    const withExtra = createTlogProof(3, hashes, checkpoint, extra);
    expect(withExtra.split('\n')[1]).toBe(`extra ${extra.toString('base64')}`);
    expect(Buffer.from(verifyTlogProof(withExtra, hashes[3]!, verifier).extra!).toString()).toBe('opaque');
    expect(parseTlogProof(withExtra)).toMatchObject({ index: 3, checkpoint });
  });

  it('refuses the wrong leaf, a wrong index, a changed hash line and a foreign checkpoint', () => {
    const text = createTlogProof(5, hashes, checkpoint);
    expect(codeOf(() => verifyTlogProof(text, hashes[4]!, verifier))).toBe('KT_AUDIT_PROOF_INVALID');
    expect(codeOf(() => verifyTlogProof(text.replace('index 5', 'index 4'), hashes[5]!, verifier))).toBe('KT_AUDIT_PROOF_INVALID');
    const b64 = Buffer.from(PATH_5_OF_8[1]!, 'hex').toString('base64');
    const flipped = Buffer.from(PATH_5_OF_8[1]!, 'hex');
    flipped[0]! ^= 1;
    expect(codeOf(() => verifyTlogProof(text.replace(b64, flipped.toString('base64')), hashes[5]!, verifier))).toBe('KT_AUDIT_PROOF_INVALID');
    const other = parseVerifierKey(generateNoteKey(ORIGIN).verifierKey);
    expect(codeOf(() => verifyTlogProof(text, hashes[5]!, other))).toBe('KT_AUDIT_NOTE_UNVERIFIED');
    expect(codeOf(() => verifyTlogProof(text, hashes[5]!, verifier, { origin: 'elsewhere' }))).toBe('KT_AUDIT_ORIGIN_MISMATCH');
  });

  it.each([
    ['missing header', 'wrong-header\nindex 0\n\ncheckpoint\n'],
    ['invalid extra data encoding', `${TLOG_PROOF_HEADER}\nextra !!notbase64!!\nindex 0\n\ncheckpoint\n`],
    ['missing index', `${TLOG_PROOF_HEADER}\n\n\ncheckpoint\n`],
    ['index not a number', `${TLOG_PROOF_HEADER}\nindex notanumber\n\ncheckpoint\n`],
    ['negative index', `${TLOG_PROOF_HEADER}\nindex -5\n\ncheckpoint\n`],
    ['index with leading zero', `${TLOG_PROOF_HEADER}\nindex 05\n\ncheckpoint\n`],
    ['invalid hash base64', `${TLOG_PROOF_HEADER}\nindex 0\n!!notbase64!!\n\ncheckpoint\n`],
    ['hash too long', `${TLOG_PROOF_HEADER}\nindex 0\n${Buffer.alloc(64).toString('base64')}\n\ncheckpoint\n`],
    ['no checkpoint', `${TLOG_PROOF_HEADER}\nindex 0\n`],
  ])('refuses a proof with %s', (_name, text) => {
    expect(codeOf(() => parseTlogProof(text))).toBe('KT_AUDIT_PROOF_MALFORMED');
  });

  it('encodes an empty audit path for a one-leaf tree', () => {
    const one = signCheckpoint({ origin: ORIGIN, size: 1, root: hashes[0]! }, parseSignerKey(PETER_SKEY));
    const text = encodeTlogProof({ index: 0, hashes: [], checkpoint: one });
    expect(text).toBe(`${TLOG_PROOF_HEADER}\nindex 0\n\n${one}`);
    expect(verifyTlogProof(text, hashes[0]!, verifier).index).toBe(0);
  });
});
