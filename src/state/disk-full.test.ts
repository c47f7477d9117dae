import { describe, expect, it } from 'vitest';
import { databaseFullError, isDatabaseFull } from './disk-full.js';

describe('isDatabaseFull', () => {
  it('knows SQLITE_FULL (also extended codes), its message, and PostgreSQL disk_full; nothing else', () => {
    expect(isDatabaseFull(Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 }))).toBe(true);
    expect(isDatabaseFull({ errcode: 13 | (1 << 8) })).toBe(true);
    expect(isDatabaseFull(new Error('SQLITE_FULL: database or disk is full'))).toBe(true);
    expect(isDatabaseFull(Object.assign(new Error('could not extend file'), { code: '53100' }))).toBe(true);
    expect(isDatabaseFull(Object.assign(new Error('busy'), { errcode: 5 }))).toBe(false);
    expect(isDatabaseFull(new Error('connection refused'))).toBe(false);
    expect(isDatabaseFull(null)).toBe(false);
  });

  it('is KT_DATABASE_FULL, status 507, naming the database and that nothing was written', () => {
    const e = databaseFullError(new Error('x'), '/home/k/keyturn.db');
    expect(e).toMatchObject({ code: 'KT_DATABASE_FULL', status: 507 });
    expect(e.message).toContain('/home/k/keyturn.db');
    expect(e.message).toContain('nothing was written');
  });
});
