// RFC 8785 vectors copied from github.com/cyberphone/json-canonicalization (the RFC author's test
// data): testdata/input/values.json -> testdata/output/values.json (commit 1e2733fc2bd37ed680fbb595f063f7bc62b4a0ec)
// and testdata/input/weird.json -> testdata/output/weird.json (commit 77917fbd5d923bca23a9b5eb8851deec918016bf;
// the output file holds the characters raw; they are written here as \u escapes).
import { describe, expect, it } from 'vitest';
import { AuditAppender } from './appender.js';
import { canonicalJson } from './canonical.js';
import type { AuditEventInput } from './event.js';
import { GENESIS_PREV, decodeEvent, encodeEvent, makeEvent } from './event.js';
import { leafHash, rootHash } from './merkle.js';
import { codeOf } from '../../test/helpers/audit-vectors.js';

const INPUT: AuditEventInput = {
  time: '2025-01-02T03:04:05.678Z',
  actor: 'user:alice',
  source: 'cli',
  action: 'secret.put',
  path: 'prod/db/app_user',
  versionId: 'v2',
  outcome: 'success',
};

describe('RFC 8785 canonical JSON (cyberphone/json-canonicalization vectors)', () => {
  it('canonicalises values.json', () => {
    const input = JSON.parse(
      '{\n  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],\n  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    );
    expect(canonicalJson(input).toString('utf8')).toBe('{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}');
  });

  it('sorts keys by UTF-16 code units (weird.json)', () => {
    const input = JSON.parse(
      '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
    );
    expect(canonicalJson(input).toString('utf8')).toBe(
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('refuses values without a canonical form', () => {
    expect(codeOf(() => canonicalJson({ n: Number.NaN }))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => canonicalJson({ n: Infinity }))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => canonicalJson({ s: '\ud800' }))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => canonicalJson(undefined))).toBe('KT_AUDIT_EVENT_INVALID');
  });
});

describe('audit events', () => {
  it('encodes every field, sorted, nulls included', () => {
    const leaf = encodeEvent(makeEvent(INPUT, 0, GENESIS_PREV)).toString('utf8');
    expect(leaf).toBe(
      '{"action":"secret.put","actor":"user:alice","correlationId":null,"errorCode":null,"outcome":"success","path":"prod/db/app_user",' +
        `"prev":"${GENESIS_PREV}","runId":null,"seq":0,"source":"cli","time":"2025-01-02T03:04:05.678Z","valueHmac":null,"versionId":"v2"}`,
    );
    expect(decodeEvent(Buffer.from(leaf))).toEqual(makeEvent(INPUT, 0, GENESIS_PREV));
  });

  it('takes a Date for time', () => {
    expect(makeEvent({ ...INPUT, time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)) }, 0, GENESIS_PREV).time).toBe('2025-01-02T03:04:05.678Z');
  });

  it.each([
    ['an unknown field (a value cannot ride along)', { ...INPUT, value: 'hunter2' }],
    ['a bad time', { ...INPUT, time: '2025-01-02 03:04:05' }],
    ['an empty actor', { ...INPUT, actor: '' }],
    ['a control character', { ...INPUT, source: 'cli\n' }],
    ['a lone surrogate (no UTF-8 form)', { ...INPUT, actor: 'user:\ud800' }],
    ['an action that is not dotted lowercase', { ...INPUT, action: 'Secret Put' }],
    ['an unknown outcome', { ...INPUT, outcome: 'maybe' }],
    ['an error code on success', { ...INPUT, errorCode: 'KT_INTERNAL' }],
    ['an error code outside the registry form', { ...INPUT, outcome: 'failure', errorCode: 'oops' }],
    ['a version id with spaces', { ...INPUT, versionId: 'v 2' }],
    ['an error code on an intent', { ...INPUT, outcome: 'intent', errorCode: 'KT_INTERNAL' }],
    ['a value where the value HMAC goes', { ...INPUT, valueHmac: 'hunter2' }],
  ])('refuses %s', (_name, input) => {
    expect(codeOf(() => makeEvent(input as AuditEventInput, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
  });

  it('refuses a bad seq or prev', () => {
    expect(codeOf(() => makeEvent(INPUT, -1, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent(INPUT, 1, 'ABC'))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent(INPUT, 0, 'a'.repeat(64)))).toBe('KT_AUDIT_EVENT_INVALID');
  });

  it('refuses leaves that are not events', () => {
    expect(codeOf(() => decodeEvent(Buffer.from('not json')))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => decodeEvent(Buffer.from([0xff, 0x7b, 0x7d])))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => decodeEvent(Buffer.from('[]')))).toBe('KT_AUDIT_EVENT_INVALID');
    const { seq: _seq, ...withoutSeq } = makeEvent(INPUT, 0, GENESIS_PREV);
    expect(codeOf(() => decodeEvent(canonicalJson(withoutSeq)))).toBe('KT_AUDIT_EVENT_INVALID');
  });
});

describe('the direct RFC 8785 encoder of events', () => {
  it('writes exactly the bytes of the generic canonicalizer, escapes and non-ASCII included', () => {
    const texts = ['user:alice', 'user:"quoted" \\ back', 'user:ünïcödé ✓ 😀', 'user:\u2028\u2029', 'a'.repeat(256), 'user:</script>', 'user: !#[]~{}', 'user:\u00a0\u00ff'];
    let n = 0;
    for (const actor of texts) {
      for (const outcome of ['intent', 'success', 'failure', 'denied'] as const) {
        const event = makeEvent(
          {
            ...INPUT,
            actor,
            outcome,
            errorCode: outcome === 'failure' || outcome === 'denied' ? 'KT_TARGET_AUTH_FAILED' : null,
            path: n % 2 === 0 ? null : `prod/${actor.length}`,
            runId: n % 3 === 0 ? null : `run_${n}`,
            valueHmac: n % 2 === 0 ? `hmac-sha256:hk_1a2b3c4d:${'A'.repeat(43)}=` : null,
          },
          n * 9_007_199,
          n === 0 ? GENESIS_PREV : 'ab'.repeat(32),
        );
        expect(encodeEvent(event).equals(canonicalJson(event))).toBe(true);
        n++;
      }
    }
    expect(n).toBe(32);
  });
});

describe('the optional client fields (address, userAgent)', () => {
  it('are in the leaf only when known, sorted in place, and equal the generic canonicalizer', () => {
    const plain = makeEvent({ ...INPUT, address: null, userAgent: undefined }, 3, 'ab'.repeat(32));
    expect('address' in plain || 'userAgent' in plain).toBe(false);
    expect(encodeEvent(plain).toString()).not.toContain('address');
    for (const [address, userAgent] of [
      ['203.0.113.7', 'keyturn-cli/0.1 (linux)'],
      ['2001:db8::1', 'curl/8.5.0 "quoted" ünï'],
      ['::ffff:127.0.0.1', null],
      [null, 'only-an-agent'],
    ] as const) {
      const event = makeEvent({ ...INPUT, address, userAgent }, 4, 'ab'.repeat(32));
      const leaf = encodeEvent(event);
      expect(leaf.equals(canonicalJson(event))).toBe(true);
      expect(decodeEvent(leaf)).toEqual(event);
      expect(decodeEvent(leaf).address).toBe(address ?? undefined);
    }
  });

  it('leave a leaf written before they existed valid, byte for byte', () => {
    const old =
      '{"action":"secret.put","actor":"user:alice","correlationId":null,"errorCode":null,"outcome":"success","path":"prod/db/app_user","prev":"' +
      GENESIS_PREV +
      '","runId":null,"seq":0,"source":"cli","time":"2025-01-02T03:04:05.678Z","valueHmac":null,"versionId":"v2"}';
    const event = decodeEvent(Buffer.from(old));
    expect(encodeEvent(event).toString()).toBe(old);
  });

  it('refuse a null in the leaf, a bad address and a control character in the agent', () => {
    const base = JSON.parse(encodeEvent(makeEvent(INPUT, 0, GENESIS_PREV)).toString()) as Record<string, unknown>;
    expect(codeOf(() => decodeEvent(Buffer.from(JSON.stringify({ ...base, address: null }))))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, address: 'not an ip' }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, userAgent: 'a\nb' }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, userAgent: 'x'.repeat(257) }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
  });
});

describe('the optional finding fields of secret.leaked (fingerprint, location)', () => {
  it('are in the leaf only when known, sorted in place (with the client fields too), and equal the generic canonicalizer', () => {
    const leak = { ...INPUT, action: 'secret.leaked' };
    expect(encodeEvent(makeEvent({ ...leak, fingerprint: null, location: undefined }, 1, 'ab'.repeat(32))).toString()).not.toMatch(/fingerprint|location/);
    for (const [fingerprint, location, address] of [
      ['3f9a0c1e2d4b5a6f', 'src/config.ts:12', null],
      ['gitleaks:abc/def.env:aws-access-key:4', 'deploy/"odd" dir/ünï.yaml:1', '203.0.113.7'],
      [null, 'only/a/location:9', null],
      ['only-a-fingerprint', null, '2001:db8::1'],
    ] as const) {
      const event = makeEvent({ ...leak, fingerprint, location, address, userAgent: 'keyturn-cli/0.1' }, 5, 'ab'.repeat(32));
      const leaf = encodeEvent(event);
      expect(leaf.equals(canonicalJson(event))).toBe(true);
      expect(decodeEvent(leaf)).toEqual(event);
      expect(decodeEvent(leaf).location).toBe(location ?? undefined);
    }
  });

  it('refuse a null in the leaf, a fingerprint outside the id characters, a control character or an empty location', () => {
    const base = JSON.parse(encodeEvent(makeEvent(INPUT, 0, GENESIS_PREV)).toString()) as Record<string, unknown>;
    expect(codeOf(() => decodeEvent(Buffer.from(JSON.stringify({ ...base, fingerprint: null }))))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, fingerprint: 'has space' }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, fingerprint: 'x'.repeat(129) }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => decodeEvent(Buffer.from(JSON.stringify({ ...base, fingerprint: '' }))))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, location: 'a\nb:1' }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
    expect(codeOf(() => makeEvent({ ...INPUT, location: 'x'.repeat(1025) }, 0, GENESIS_PREV))).toBe('KT_AUDIT_EVENT_INVALID');
  });
});

describe('AuditAppender', () => {
  it('numbers and links events and keeps the Merkle root', () => {
    const log = new AuditAppender();
    const appended = [0, 1, 2].map((i) => log.append({ ...INPUT, correlationId: `req-${i}` }));
    expect(appended.map((a) => a.event.seq)).toEqual([0, 1, 2]);
    expect(appended[0]!.event.prev).toBe(GENESIS_PREV);
    expect(appended[1]!.event.prev).toBe(leafHash(appended[0]!.leaf).toString('hex'));
    expect(appended[2]!.event.prev).toBe(appended[1]!.leafHash.toString('hex'));
    expect(log.root().equals(rootHash(appended.map((a) => a.leafHash)))).toBe(true);
  });

  it('resumes from saved state', () => {
    const a = new AuditAppender();
    for (let i = 0; i < 5; i++) a.append(INPUT);
    const b = new AuditAppender(a.state());
    const fromA = a.append(INPUT);
    const fromB = b.append(INPUT);
    expect(fromB.leaf.equals(fromA.leaf)).toBe(true);
    expect(b.root().equals(a.root())).toBe(true);
    expect(() => new AuditAppender({ size: 0, prev: 'a'.repeat(64), nodes: [] })).toThrow();
  });
});
