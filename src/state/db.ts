/**
 * The state database: Kysely over SQLite (the default, a file in the Keyturn home) or
 * PostgreSQL (when a `postgres://` URL is given), migrated to the latest schema on open.
 *
 * @example
 * ```ts
 * const state = await openState({ sqliteFile: '/var/lib/keyturn/keyturn.db' });
 * const state = await openState({ url: 'postgres://keyturn@db:5432/keyturn' });
 * await state.close();
 * ```
 */
import { Kysely, PostgresDialect, sql, SqliteDialect, type SqliteDatabase } from 'kysely';
import { Migrator } from 'kysely/migration';
import { loadPg } from '../core/drivers.js';
import { KeyturnError } from '../core/errors.js';
import { databaseFullError, isDatabaseFull } from './disk-full.js';
import { redactUrl, redactUrlsIn } from '../core/redact-url.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Schema } from './schema.js';
import { openSqlite } from './sqlite-adapter.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StateDb {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** SQLite only: the one connection's statements, for compiled statements run inside a transaction (./prepared.ts). */
  readonly sqlite?: Pick<SqliteDatabase, 'prepare'> & {
    readBatched?(sql: string, parameters: ReadonlyArray<unknown>): unknown[] | undefined;
    /** See ./sqlite-adapter.ts (OpenedSqlite.readVersion): what ./read-cache.ts keys its rows on. */
    readVersion?(tables: readonly string[]): string | undefined;
    /** See ./sqlite-adapter.ts (OpenedSqlite.allArrays): a statement's rows as arrays, inside the caller's transaction. */
    allArrays?(sql: string, parameters: ReadonlyArray<unknown>): unknown[][];
  };
  /** Where it lives, with any password or credential parameter removed (src/core/redact-url.ts): a file path or a URL. */
  readonly location: string;
  /**
   * PostgreSQL only: runs one statement, prepared once per session under `name`, on a second,
   * small pool whose sessions commit without waiting for the WAL flush (`synchronous_commit =
   * off`): for writes that are hints a database crash may lose without harm (the scheduler's
   * claims, src/schedule/due-repo.ts). The pool opens on first use and closes with the state.
   */
  readonly asyncCommit?: <R>(name: string, text: string, values: unknown[]) => Promise<R[]>;
  close(): Promise<void>;
}

export interface OpenStateOptions {
  /** A `postgres://` or `postgresql://` URL. Takes precedence over `sqliteFile`. */
  url?: string;
  /** SQLite file path (or `:memory:`). */
  sqliteFile?: string;
  /** PostgreSQL schema to use (created if missing); for tests that share one database. */
  pgSchema?: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

const INT8_OID = 20;

/** Opens the state database and brings its schema up to date. */
export async function openState(options: OpenStateOptions): Promise<StateDb> {
  let state: StateDb;
  if (options.url) {
    state = await openPostgres(options.url, options.pgSchema);
  } else if (options.sqliteFile) {
    const file = options.sqliteFile;
    let database;
    try {
      database = openSqlite(file);
    } catch (e) {
      throw new KeyturnError('KT_DATABASE_UNAVAILABLE', `cannot open the SQLite state file ${file}: ${(e as Error).message}`, { cause: e });
    }
    state = {
      db: new Kysely<Schema>({ dialect: new SqliteDialect({ database }) }),
      dialect: 'sqlite',
      sqlite: database,
      location: file,
      close: async () => {
        await state.db.destroy();
        await database.stopped();
      },
    };
  } else {
    throw new KeyturnError('KT_CONFIG_INVALID', 'openState needs a PostgreSQL url or a SQLite file');
  }
  if (options.migrate !== false) {
    try {
      await migrate(state, options.url ? options.pgSchema : undefined);
    } catch (e) {
      await state.close().catch(() => undefined);
      throw e;
    }
  }
  return state;
}

async function openPostgres(url: string, schema: string | undefined): Promise<StateDb> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new KeyturnError('KT_DATABASE_URL_INVALID', 'the database URL must start with postgres:// or postgresql://');
  }
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new KeyturnError('KT_CONFIG_INVALID', `PostgreSQL schema name "${schema}" must match [a-z_][a-z0-9_]*`);
  }
  const pg = await loadPg();
  const config = {
    connectionString: url,
    // A schema of its own in a shared database (tests): no parallel query workers, which were seen
    // failing to find the schema's tables (42P01 'parallel worker') while other schemas were dropped.
    ...(schema ? { options: `-c search_path=${schema} -c max_parallel_workers_per_gather=0` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
    },
  };
  const pool = new pg.Pool({ ...config, max: 10 });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({
      pool: async () => {
        if (schema) {
          const client = await pool.connect();
          try {
            await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          } finally {
            client.release();
          }
        }
        return pool;
      },
    }),
  });
  let relaxed: InstanceType<typeof pg.Pool> | undefined;
  /** The sessions of `relaxed` already set to commit asynchronously. */
  const set = new WeakSet<object>();
  const asyncCommit = async <R>(name: string, text: string, values: unknown[]): Promise<R[]> => {
    if (!relaxed) {
      relaxed = new pg.Pool({ ...config, max: 2 });
      relaxed.on('error', () => undefined);
    }
    const client = await relaxed.connect();
    try {
      if (!set.has(client)) {
        await client.query('SET synchronous_commit = off');
        set.add(client);
      }
      return (await client.query({ name, text, values })).rows as R[];
    } finally {
      client.release();
    }
  };
  return {
    db,
    dialect: 'postgres',
    location: redactUrl(url),
    asyncCommit,
    close: async () => {
      await relaxed?.end();
      await db.destroy();
    },
  };
}

/** Kysely's record of the migrations applied (its default table name). */
const MIGRATION_TABLE = 'kysely_migration';

/** Whether the database has exactly the migrations this Keyturn knows (no table yet: no). */
async function isUpToDate(state: StateDb): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(state.db);
    const known = Object.keys(MIGRATIONS);
    const applied = new Set(rows.map((r) => r.name));
    return rows.length === known.length && known.every((name) => applied.has(name));
  } catch {
    return false;
  }
}

/**
 * Tries of a migration that met another schema of the database being dropped under it (each such
 * drop fails one try; tests that share the database drop theirs a few times a second at most).
 */
const MIGRATE_TRIES = 10;

async function migrate(state: StateDb, schema: string | undefined): Promise<void> {
  // The common case, a database already current, costs one query and loads no migration code.
  if (await isUpToDate(state)) return;
  let result;
  try {
    if (state.dialect === 'postgres' && !schema) schema = (await sql<{ s: string }>`select current_schema() as s`.execute(state.db)).rows[0]?.s;
    // Kysely must look for its own tables in this schema: by default it takes a `kysely_migration`
    // table in any other schema of the database (another Keyturn's, a test's) for its own.
    const migrator = new Migrator({ db: state.db, provider: { getMigrations: async () => ({ ...MIGRATIONS }) }, ...(schema ? { migrationTableSchema: schema } : {}) });
    // Kysely looks for its tables with one query over every schema of the database, which fails
    // (3F000 for the schema, 42P01 for one of its tables) when another schema is dropped while it
    // runs: that schema is gone, so try again.
    for (let tries = 1; ; tries++) {
      try {
        result = await migrator.migrateToLatest();
      } catch (e) {
        if (tries < MIGRATE_TRIES && otherSchemaDropped(e, schema)) continue;
        throw e;
      }
      if (!(tries < MIGRATE_TRIES && otherSchemaDropped(result.error, schema))) break;
    }
  } catch (e) {
    throw databaseError(e, state);
  }
  if (result.error) {
    const message = String((result.error as Error).message ?? result.error);
    if (/corrupted migrations|missing/i.test(message)) {
      throw new KeyturnError('KT_DATABASE_TOO_NEW', `the state database at ${state.location} has migrations this Keyturn does not know`, {
        cause: result.error,
      });
    }
    throw databaseError(result.error, state);
  }
}

/**
 * Whether `e` is PostgreSQL's "schema ... does not exist" (3F000) or "relation "schema.table" does
 * not exist" (42P01) about a schema other than ours: another schema dropped while Kysely listed tables.
 */
export function otherSchemaDropped(e: unknown, ours: string | undefined): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = String((e as Error | undefined)?.message);
  if (code === '3F000') return ours === undefined || !message.includes(`"${ours}"`);
  if (code !== '42P01') return false;
  const qualified = /relation "([^".]+)\.[^"]+" does not exist/.exec(message);
  return qualified !== null && qualified[1] !== ours;
}

/** Maps a driver error to KT_DATABASE_FULL (no room) or KT_DATABASE_UNAVAILABLE, keeping KeyturnErrors as they are. */
export function databaseError(e: unknown, state: Pick<StateDb, 'location'>): KeyturnError {
  if (e instanceof KeyturnError) return e;
  if (isDatabaseFull(e)) return databaseFullError(e, state.location);
  return new KeyturnError('KT_DATABASE_UNAVAILABLE', `state database ${state.location}: ${redactUrlsIn(String((e as Error).message))}`, { cause: e });
}
