/** Scrubbing values out of a stderr excerpt: every spelling, both cut edges, longest value first. */
import { describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, REDACTED, secretForms, stderrExcerpt, stderrKeepBytes } from './scrub.js';

describe('secretForms', () => {
  it('lists every leaf in raw, JSON-escaped and URL-encoded spellings, longest first, never empty', () => {
    const forms = secretForms({ password: 'a"b c', pin: 1234, empty: '', flag: true, nested: { k: ['deep'] } });
    for (const f of ['a"b c', 'a\\"b c', 'a%22b%20c', '1234', 'deep', '{"k":["deep"]}', '["deep"]']) expect(forms).toContain(f);
    expect(forms).not.toContain('');
    expect(forms).not.toContain('true');
    expect(forms.map((f) => f.length)).toEqual([...forms.map((f) => f.length)].sort((a, b) => b - a));
    expect(new Set(secretForms('plain'))).toEqual(new Set(['plain', 'cGxhaW4', '706c61696e', '706C61696E', 'p l a i n']));
  });

  it('adds base64, base64url, hex, spaced spellings, the whole JSON value and HTTP Basic pairs', () => {
    const forms = secretForms({ username: 'app', password: 'p>w?' });
    const b = (s: string) => Buffer.from(s).toString('base64').replace(/=+$/, '');
    for (const f of [b('p>w?'), Buffer.from('p>w?').toString('base64url'), '703e773f', '703E773F', 'p > w ?', '{"username":"app","password":"p>w?"}', b('app:p>w?')]) expect(forms).toContain(f);
  });
});

describe('stderrExcerpt', () => {
  const value = 'correct-horse-battery-staple';
  const forms = secretForms({ password: value, user: 'horse' });

  it('replaces a value containing another value whole', () => {
    expect(stderrExcerpt(Buffer.from(`bad password ${value} for horse\n`), false, forms)).toBe(`bad password ${REDACTED} for ${REDACTED}`);
  });

  it('drops a value cut in half by the start of a truncated tail', () => {
    const tail = Buffer.from(`${value.slice(9)} then the error\n`);
    const out = stderrExcerpt(tail, true, forms);
    expect(out).not.toContain('battery');
    expect(out.startsWith('…')).toBe(true);
  });

  it('redacts a trailing prefix of 4 characters or more, and keeps shorter endings', () => {
    expect(stderrExcerpt(Buffer.from(`printing ${value.slice(0, 10)}`), false, forms)).toBe(`printing ${REDACTED}`);
    expect(stderrExcerpt(Buffer.from('ends with cor'), false, forms)).toBe('ends with cor');
  });

  it('keeps the last EXCERPT_CHARS characters, even when scrubbing shrinks the text', () => {
    const kept = stderrKeepBytes(forms);
    const stream = `${'noise '.repeat(2000)}${`${value} `.repeat(200)}END`;
    const tail = Buffer.from(stream).subarray(-kept);
    const out = stderrExcerpt(tail, true, forms);
    expect(out.length).toBeLessThanOrEqual(EXCERPT_CHARS + 1);
    expect(out.endsWith('END')).toBe(true);
    expect(out).not.toMatch(/horse|battery|staple|correct/);
  });

  it('replaces control characters so the message stays one readable text', () => {
    expect(stderrExcerpt(Buffer.from('a\u0007b\u001b[31mc\n'), false, [])).toBe('a?b?[31mc');
  });
});
