import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherSchemaDropped } from './db.js';

/** The errors PostgreSQL itself gives for a schema, and for a table of a schema, that is not there. */
describe('otherSchemaDropped (the retry when another schema is dropped while Kysely lists tables)', () => {
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  beforeAll(() => client.connect());
  afterAll(() => client.end());
  const failure = (text: string) =>
    client.query(text).then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );

  it("retries on another schema's missing schema (3F000) or table (42P01), never on our own", async () => {
    const schemaGone = await failure('create table kt_gone_schema_x.t (a int)');
    expect(schemaGone).toMatchObject({ code: '3F000' });
    expect(otherSchemaDropped(schemaGone, 'kt_ours')).toBe(true);
    expect(otherSchemaDropped(schemaGone, 'kt_gone_schema_x')).toBe(false);

    const tableGone = await failure('select * from kt_gone_schema_x.secret_stages');
    expect(tableGone).toMatchObject({ code: '42P01' });
    expect(otherSchemaDropped(tableGone, 'kt_ours')).toBe(true);
    expect(otherSchemaDropped(tableGone, 'kt_gone_schema_x')).toBe(false);

    const unqualified = await failure('select * from kt_no_such_table_x');
    expect(otherSchemaDropped(unqualified, 'kt_ours')).toBe(false);
    expect(otherSchemaDropped(new Error('connection refused'), 'kt_ours')).toBe(false);
  });
});
