/**
 * The embedded store's hot statements (the ones every rotation and read runs), compiled once per
 * state database (../../state/prepared.ts). What they mean is embedded-store.ts's business; this
 * file is their SQL only.
 *
 * @example
 * ```ts
 * const secret = await secretByPath.first(state, trx, { path: 'prod/db/app' });
 * ```
 */
import { prepared } from '../../state/prepared.js';
import type { SecretVersionsTable } from '../../state/schema.js';

/** The secret's row (params: `path`). */
export const secretByPath = prepared((db, p) => db.selectFrom('secrets').selectAll().where('path', '=', p('path')));

/** The secret's row, locked until commit: PostgreSQL only (params: `path`). */
export const secretByPathForUpdate = prepared((db, p) => db.selectFrom('secrets').selectAll().where('path', '=', p('path')).forUpdate());

/**
 * A stage read in one query (params: `path`, `stage`): no row when there is no secret at `path`;
 * else one row per stage the secret has set (one row with a null `stage` when none), each with the
 * secret's deletion columns and the stage's holder (`stage`, `version_id`); the row of the stage
 * asked for also carries that version's columns (null elsewhere). The version's stages are the
 * rows whose holder is that version: three primary-key lookups instead of a subquery per stage.
 */
export const stagedVersion = prepared((db, p) =>
  db
    .selectFrom('secrets as s')
    .leftJoin('secret_stages as st', 'st.secret_id', 's.id')
    .leftJoin('secret_versions as v', (j) => j.on('st.stage', '=', p('stage')).onRef('v.secret_id', '=', 's.id').onRef('v.id', '=', 'st.version_id'))
    .select(['s.id as secret_id', 's.path', 's.deleted_at', 's.purge_after', 'st.stage', 'st.version_id', 'v.id', 'v.number', 'v.kind', 'v.data_key_id', 'v.sealed', 'v.created_at'])
    .where('s.path', '=', p('path')),
);

/** The secret's stage rows (params: `secret_id`). */
export const stageRows = prepared((db, p) => db.selectFrom('secret_stages').select(['stage', 'version_id']).where('secret_id', '=', p('secret_id')));

/** One version's row (params: `secret_id`, `id`). */
export const versionById = prepared((db, p) => db.selectFrom('secret_versions').selectAll().where('secret_id', '=', p('secret_id')).where('id', '=', p('id')));

/** One row when the version exists (params: `secret_id`, `id`). */
export const versionExists = prepared((db, p) => db.selectFrom('secret_versions').select('id').where('secret_id', '=', p('secret_id')).where('id', '=', p('id')));

/** The secret's stage rows with their versions' numbers (params: `secret_id`). */
export const stageRowsWithNumbers = prepared((db, p) =>
  db
    .selectFrom('secret_stages as st')
    .innerJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 'st.secret_id').onRef('v.id', '=', 'st.version_id'))
    .select(['st.stage', 'st.version_id', 'v.number'])
    .where('st.secret_id', '=', p('secret_id')),
);

/** Takes the next version number (params: `id`, `next_version`, `updated_at`). */
export const bumpVersion = prepared((db, p) =>
  db
    .updateTable('secrets')
    .set({ next_version: p('next_version'), updated_at: p('updated_at') })
    .where('id', '=', p('id')),
);

/** Marks the secret changed (params: `id`, `updated_at`). */
export const touchSecret = prepared((db, p) =>
  db
    .updateTable('secrets')
    .set({ updated_at: p('updated_at') })
    .where('id', '=', p('id')),
);

const VERSION_COLUMNS = ['secret_id', 'id', 'number', 'kind', 'data_key_id', 'sealed', 'created_at'] as const satisfies ReadonlyArray<keyof SecretVersionsTable>;

/** A new version's row (params: the row). */
export const insertVersion = prepared((db, p) => db.insertInto('secret_versions').values(Object.fromEntries(VERSION_COLUMNS.map((c) => [c, p(c)])) as unknown as SecretVersionsTable));

/** Stage compare-and-set, from no holder (params: `secret_id`, `stage`, `to`, `updated_at`); one changed row when it won. */
export const stageInsert = prepared((db, p) =>
  db
    .insertInto('secret_stages')
    .values({ secret_id: p('secret_id'), stage: p('stage'), version_id: p('to'), updated_at: p('updated_at') })
    .onConflict((oc) => oc.columns(['secret_id', 'stage']).doNothing()),
);

/** Stage compare-and-set, from `from` to `to` (params: `secret_id`, `stage`, `from`, `to`, `updated_at`). */
export const stageUpdate = prepared((db, p) =>
  db
    .updateTable('secret_stages')
    .set({ version_id: p('to'), updated_at: p('updated_at') })
    .where('secret_id', '=', p('secret_id'))
    .where('stage', '=', p('stage'))
    .where('version_id', '=', p('from')),
);

/** Stage compare-and-set, from `from` to no holder (params: `secret_id`, `stage`, `from`). */
export const stageDelete = prepared((db, p) => db.deleteFrom('secret_stages').where('secret_id', '=', p('secret_id')).where('stage', '=', p('stage')).where('version_id', '=', p('from')));
