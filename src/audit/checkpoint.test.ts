// Vectors:
// - github.com/transparency-dev/formats log/note_test.go (commit 5242c17862d31acd165afafa140ecc973a621469),
//   TestSumDBNoteParsing: a real sum.golang.org tree note and its verifier key;
// - github.com/transparency-dev/formats log/checkpoint_test.go (commit 7a6ef700ee5660b2580c9da92063af300820fdee),
//   TestUnmarshalLogState's invalid bodies;
// - github.com/C2SP/C2SP tlog-checkpoint.md (commit 2793893976c835db049c194d8f2c4f946dcb70ba), the example;
// - github.com/golang/mod sumdb/note/note_test.go (commit 02c991387e35f9e4c0a9b7ce137717055f8d716d), the
//   PeterNeumann test key used to sign fresh checkpoints.
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, readCheckpointUnverified, signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT } from './merkle.js';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from './note-key.js';
import { parseNote, signNote } from './note.js';
import { codeOf, PETER_SKEY, PETER_VKEY } from '../../test/helpers/audit-vectors.js';

const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const SUMDB_NOTE =
  'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n' + '— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';
const C2SP_EXAMPLE =
  'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
  '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';

describe('tlog-checkpoint', () => {
  it('verifies the sum.golang.org tree note from transparency-dev/formats', () => {
    const { checkpoint, note } = openCheckpoint(SUMDB_NOTE, parseVerifierKey(SUMDB_VKEY), { origin: 'go.sum database tree' });
    expect(checkpoint.origin).toBe('go.sum database tree');
    expect(checkpoint.size).toBe(6476701);
    expect(checkpoint.root.toString('base64')).toBe('mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=');
    expect(note.verified.map((s) => s.name)).toEqual(['sum.golang.org']);
    expect(codeOf(() => openCheckpoint(SUMDB_NOTE, parseVerifierKey(SUMDB_VKEY), { origin: 'Go rocks but I might have the wrong ID' }))).toBe('KT_AUDIT_ORIGIN_MISMATCH');
    expect(codeOf(() => openCheckpoint(SUMDB_NOTE.replace('6476701', '6476702'), parseVerifierKey(SUMDB_VKEY)))).toBe('KT_AUDIT_SIGNATURE_INVALID');
  });

  it('parses the C2SP example body', () => {
    const cp = readCheckpointUnverified(C2SP_EXAMPLE);
    expect(cp).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(cp.root.toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  });

  it('formats the three lines and round-trips with extensions', () => {
    expect(formatCheckpoint({ origin: 'example.com/log', size: 0, root: EMPTY_ROOT })).toBe('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    const cp = { origin: 'example.com/log', size: 42, root: EMPTY_ROOT, extensions: ['ext one', 'ext two'] };
    expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
  });

  it('signs and opens with the log key, and refuses other keys', () => {
    const signer = parseSignerKey(PETER_SKEY);
    const note = signCheckpoint({ origin: 'PeterNeumann', size: 8, root: EMPTY_ROOT }, signer);
    expect(parseNote(note).signatures.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(openCheckpoint(note, parseVerifierKey(PETER_VKEY), { origin: 'PeterNeumann' }).checkpoint.size).toBe(8);
    const other = parseVerifierKey(generateNoteKey('PeterNeumann').verifierKey);
    expect(codeOf(() => openCheckpoint(note, other))).toBe('KT_AUDIT_NOTE_UNVERIFIED');
  });

  it('refuses a validly signed body that is not a checkpoint', () => {
    const note = signNote("if this is a valid checkpoint then I'll eat my hat\n", [parseSignerKey(PETER_SKEY)]);
    expect(codeOf(() => openCheckpoint(note, parseVerifierKey(PETER_VKEY)))).toBe('KT_AUDIT_CHECKPOINT_MALFORMED');
  });

  it.each([
    ['insufficient lines', 'Head\n9944\n'],
    ['empty origin', '\n9944\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n'],
    ['no final newline', 'Log\n123\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk='],
    ['size not a number', 'Log\nbananas\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n'],
    ['negative size', 'Log\n-34\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n'],
    ['size too large', 'Log\n3438945738945739845734895735\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n'],
    ['leading zero', 'Log\n0123\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n'],
    ['root not base64', "Log\n123\nThisIsn'tBase64\n"],
    ['root not 32 bytes', 'Log\n123\nYmFuYW5hcw==\n'],
    ['empty extension line', 'Log\n9944\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n'],
  ])('refuses a body with %s', (_name, body) => {
    expect(codeOf(() => parseCheckpoint(body))).toBe('KT_AUDIT_CHECKPOINT_MALFORMED');
  });
});
