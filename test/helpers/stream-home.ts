/**
 * The fixture of the change-stream and agent tests, in one place: a fresh home (on the embedded
 * SQLite state, or on a PostgreSQL schema of its own that several servers can share) with an
 * `app-read` policy (read on app/**), an admin token and a reader token (the agent's), and an
 * empty work folder (mode 0700) with the reader token in `agent.token`. Everything is removed
 * after the test through `cleanups`.
 *
 * @example
 * ```ts
 * const h = await streamHome(cleanups, { postgres: true });
 * const a = await listeningServer(h.env); const b = await listeningServer(h.env); // one database
 * writeFileSync(join(h.dir, 'agent.yaml'), `servers: ["${b.base}"]\ntokenFile: ./agent.token\n...`);
 * ```
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessRepo } from '../../src/access/access-repo.js';
import { loadSettings } from '../../src/config/settings.js';
import { initHome, openKeyturn } from '../../src/runtime/keyturn.js';
import { postgresSchemaUrl, tempDir } from './state.js';

export const APP_READ = 'rules:\n  - path: app/**\n    capabilities: [read]\n';

export interface StreamHome {
  /** The work folder: agent.yaml, agent.token and rendered files go here. */
  dir: string;
  env: Record<string, string>;
  admin: string;
  reader: string;
  readerId: string;
}

/** A fresh home (see the module header); `cleanups` gets what undoes it. */
export async function streamHome(cleanups: Array<() => Promise<void> | void>, o: { postgres?: boolean; prefix?: string } = {}): Promise<StreamHome> {
  const tmp = tempDir(o.prefix ?? 'keyturn-stream-');
  cleanups.push(() => tmp.remove());
  const env: Record<string, string> = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
  if (o.postgres === true) {
    const pgState = await postgresSchemaUrl('kt_stream');
    env.KEYTURN_DATABASE_URL = pgState.url;
    cleanups.push(() => pgState.drop());
  }
  await initHome(loadSettings(env));
  const kt = await openKeyturn(loadSettings(env));
  try {
    const access = new AccessRepo(kt.state, kt.clock);
    await access.putPolicy('app-read', APP_READ);
    const admin = (await access.createToken({ policies: ['admin'] })).token;
    const reader = await access.createToken({ policies: ['app-read'] });
    const dir = join(tmp.dir, 'work');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'agent.token'), `${reader.token}\n`, { mode: 0o600 });
    return { dir, env, admin, reader: reader.token, readerId: reader.info.id };
  } finally {
    await kt.close();
  }
}
