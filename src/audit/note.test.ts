// Vectors copied from golang.org/x/mod (github.com/golang/mod), sumdb/note/note_test.go
// (commit 02c991387e35f9e4c0a9b7ce137717055f8d716d): the PeterNeumann and EnochRoot keys, the
// signed "If you think cryptography..." note and its signatures (TestNewVerifier, TestNewSigner,
// TestSign, TestOpen), and the malformed-note list of TestOpen.
// The signed-note example "Ognuno sta solo..." is from github.com/C2SP/C2SP signed-note.md
// (commit 055287621bf3cd13ff4394418a3e8efc2d5e8ed7); its public key is not published, so it is
// only parsed here.
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { encodeVerifierKey, generateNoteKey, noteKeyId, parseSignerKey, parseVerifierKey } from './note-key.js';
import { openNote, parseNote, signNote } from './note.js';
import { codeOf, PETER_SKEY, PETER_VKEY } from '../../test/helpers/audit-vectors.js';

const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const C2SP_EXAMPLE =
  'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n' +
  '— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';

describe('signed-note keys', () => {
  it('parses the golang.org/x/mod verifier key and recomputes its key ID', () => {
    const v = parseVerifierKey(PETER_VKEY);
    expect(v.name).toBe('PeterNeumann');
    expect(v.keyId).toBe(0xc74f20a3);
    expect(noteKeyId('PeterNeumann', v.publicKey)).toBe(0xc74f20a3);
    expect(v.verifierKey).toBe(PETER_VKEY);
    expect(encodeVerifierKey('PeterNeumann', v.publicKey)).toBe(PETER_VKEY);
  });

  it('derives the verifier key from the golang.org/x/mod signer key', () => {
    const s = parseSignerKey(PETER_SKEY);
    expect(s.name).toBe('PeterNeumann');
    expect(s.keyId).toBe(0xc74f20a3);
    expect(s.verifierKey).toBe(PETER_VKEY);
    expect(String(s)).not.toContain('AYEK');
  });

  it('refuses every truncation and every single-byte change of the verifier key (TestNewVerifier)', () => {
    const b = Buffer.from(PETER_VKEY);
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i !== 0 || j !== b.length) expect(codeOf(() => parseVerifierKey(b.subarray(i, j).toString()))).toBe('KT_AUDIT_KEY_INVALID');
      }
    }
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i]! += 1;
      expect(codeOf(() => parseVerifierKey(m.toString()))).toBe('KT_AUDIT_KEY_INVALID');
    }
    expect(codeOf(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='))).toBe('KT_AUDIT_KEY_INVALID');
    expect(codeOf(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe('KT_AUDIT_KEY_INVALID');
  });

  it('refuses every truncation and every single-byte change of the signer key (TestNewSigner)', () => {
    const b = Buffer.from(PETER_SKEY);
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i !== 0 || j !== b.length) expect(codeOf(() => parseSignerKey(b.subarray(i, j).toString()))).toBe('KT_AUDIT_KEY_INVALID');
      }
    }
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i]! += 1;
      expect(codeOf(() => parseSignerKey(m.toString()))).toBe('KT_AUDIT_KEY_INVALID');
    }
  });

  it('generates key pairs that sign and verify', () => {
    const { signerKey, verifierKey } = generateNoteKey('audit.example/keyturn');
    expect(signerKey.startsWith('PRIVATE+KEY+audit.example/keyturn+')).toBe(true);
    const signer = parseSignerKey(signerKey);
    const verifier = parseVerifierKey(verifierKey);
    expect(signer.verifierKey).toBe(verifierKey);
    const msg = Buffer.from('hi');
    const sig = signer.sign(msg);
    expect(verifier.verify(msg, sig)).toBe(true);
    sig[0]! ^= 1;
    expect(verifier.verify(msg, sig)).toBe(false);
    expect(codeOf(() => generateNoteKey('bad name'))).toBe('KT_AUDIT_KEY_INVALID');
    expect(codeOf(() => generateNoteKey('a+b'))).toBe('KT_AUDIT_KEY_INVALID');
  });
});

describe('signed notes', () => {
  const peter = parseVerifierKey(PETER_VKEY);
  const enoch = parseVerifierKey(ENOCH_VKEY);

  it('signs exactly as golang.org/x/mod does (TestSign)', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signNote(TEXT, [signer])).toBe(`${TEXT}\n${PETER_SIG}`);
    // An existing signature by the same key is replaced.
    const bad = { name: 'PeterNeumann', keyId: 0xc74f20a3, base64: 'BADSIGN=', signature: Buffer.alloc(0) };
    expect(signNote(TEXT, [signer], [bad])).toBe(`${TEXT}\n${PETER_SIG}`);
    expect(codeOf(() => signNote('abc', [signer]))).toBe('KT_AUDIT_NOTE_MALFORMED');
    expect(codeOf(() => signNote(TEXT, [], [{ name: 'a+b', keyId: 0, base64: 'ABCD', signature: Buffer.alloc(0) }]))).toBe('KT_AUDIT_NOTE_MALFORMED');
    expect(codeOf(() => signNote(TEXT, [], [{ name: 'PeterNeumann', keyId: 0xc74f20a3, base64: 'BADHASH=', signature: Buffer.alloc(0) }]))).toBe('KT_AUDIT_NOTE_MALFORMED');
  });

  it('verifies the known key and ignores the unknown one (TestOpen)', () => {
    const n = openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, [peter]);
    expect(n.text).toBe(TEXT);
    expect(n.verified.map((s) => [s.name, s.keyId])).toEqual([['PeterNeumann', 0xc74f20a3]]);
    expect(n.unverified.map((s) => [s.name, s.keyId])).toEqual([['EnochRoot', 0xaf0cfe78]]);

    const both = openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, [peter, enoch]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unverified).toEqual([]);
  });

  it('refuses a note with no signature from a known key', () => {
    expect(codeOf(() => openNote(TEXT + '\n' + PETER_SIG + ENOCH_SIG, []))).toBe('KT_AUDIT_NOTE_UNVERIFIED');
    let error: unknown;
    try {
      openNote(TEXT + '\n' + ENOCH_SIG, [peter]);
    } catch (e) {
      error = e;
    }
    expect(isKeyturnError(error, 'KT_AUDIT_NOTE_UNVERIFIED') && error.details.signers).toEqual(['EnochRoot+af0cfe78']);
  });

  it('refuses an ambiguous verifier only when it is used', () => {
    expect(codeOf(() => openNote(TEXT + '\n' + ENOCH_SIG, [enoch, peter, enoch]))).toBe('KT_AUDIT_KEY_INVALID');
    expect(openNote(TEXT + '\n' + PETER_SIG, [enoch, peter, enoch]).verified).toHaveLength(1);
  });

  it('refuses too many signatures', () => {
    expect(codeOf(() => openNote(TEXT + '\n' + PETER_SIG.repeat(101), [peter]))).toBe('KT_AUDIT_NOTE_MALFORMED');
    expect(codeOf(() => openNote(TEXT + '\n' + PETER_SIG.repeat(101), []))).toBe('KT_AUDIT_NOTE_MALFORMED');
  });

  it('refuses a known key whose signature does not verify', () => {
    const broken = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    expect(codeOf(() => openNote(TEXT + '\n' + broken, [peter]))).toBe('KT_AUDIT_SIGNATURE_INVALID');
    // The text changed under a valid signature.
    expect(codeOf(() => openNote(TEXT.replace('answer', 'Answer') + '\n' + PETER_SIG, [peter]))).toBe('KT_AUDIT_SIGNATURE_INVALID');
  });

  it('drops repeated signatures and keeps distinct unknown ones', () => {
    const enochBroken = ENOCH_SIG.slice(0, 60) + 'ABCD' + ENOCH_SIG.slice(60);
    const n = openNote(TEXT + '\n' + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enochBroken, [peter]);
    expect(n.verified).toHaveLength(1);
    expect(n.unverified.map((s) => s.base64)).toEqual([ENOCH_SIG.slice(12, -1), enochBroken.slice(12, -1)]);
  });

  it('refuses malformed notes with KT_AUDIT_NOTE_MALFORMED (TestOpen bad messages)', () => {
    const bad: (string | Uint8Array)[] = [
      TEXT,
      TEXT + '\n',
      TEXT + '\n' + PETER_SIG.slice(0, -1),
      '\x01' + TEXT + '\n' + PETER_SIG,
      Buffer.concat([Buffer.from([0xff]), Buffer.from(TEXT + '\n' + PETER_SIG)]),
      TEXT + '\n' + '— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
      TEXT + '\n' + PETER_SIG + 'Unexpected line.\n',
    ];
    for (const msg of bad) expect(codeOf(() => openNote(msg, [peter]))).toBe('KT_AUDIT_NOTE_MALFORMED');
  });

  it('opens notes given as bytes', () => {
    expect(openNote(Buffer.from(TEXT + '\n' + PETER_SIG), [peter]).text).toBe(TEXT);
  });

  it('parses the C2SP signed-note example', () => {
    const n = parseNote(C2SP_EXAMPLE);
    expect(n.text).toBe('Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n');
    expect(n.signatures).toHaveLength(1);
    expect(n.signatures[0]?.name).toBe('quasimodo.example/salvatore');
    expect(n.signatures[0]?.signature).toHaveLength(64);
    // Its key is unknown to us: it must be ignored, leaving the note unverified.
    expect(codeOf(() => openNote(C2SP_EXAMPLE, [peter]))).toBe('KT_AUDIT_NOTE_UNVERIFIED');
  });

  it('ignores a signature that shares the name but not the key ID of a known key', () => {
    const other = parseSignerKey(generateNoteKey('PeterNeumann').signerKey);
    const note = signNote(TEXT, [parseSignerKey(PETER_SKEY), other]);
    const n = openNote(note, [peter]);
    expect(n.verified).toHaveLength(1);
    expect(n.unverified).toHaveLength(1);
  });
});
