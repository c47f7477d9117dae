import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, KeyturnError } from './errors.js';
import { renderErrorsDoc } from './errors-doc.js';

describe('error registry', () => {
  it('docs/errors.md matches the registry (run `npm run docs:errors` to refresh)', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderErrorsDoc());
  });

  it('every code is KT_ upper snake case with a status, a title and a fix', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^KT_[A-Z0-9_]+$/);
      expect([400, 401, 403, 404, 409, 422, 423, 429, 500, 502, 503, 504, 507]).toContain(spec.status);
      expect(spec.title.length).toBeGreaterThan(10);
      expect(spec.fix.length).toBeGreaterThan(10);
    }
  });

  it('an error carries its code, status and fix, and serializes without a stack', () => {
    const e = new KeyturnError('KT_SECRET_NOT_FOUND', 'no secret at a/b', { details: { path: 'a/b' } });
    expect(e.toJSON()).toEqual({ code: 'KT_SECRET_NOT_FOUND', message: 'no secret at a/b', fix: ERRORS.KT_SECRET_NOT_FOUND.fix, status: 404, details: { path: 'a/b' } });
    expect(new KeyturnError('KT_INTERNAL').message).toBe(ERRORS.KT_INTERNAL.title);
  });
});
