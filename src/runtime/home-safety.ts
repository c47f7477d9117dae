/**
 * The home folder and its root key must be the running user's own: a home that group or others
 * can write lets them swap the state database or plant a root key, and a root.key owned by
 * someone else is a key that someone else controls. Checked before anything in the home is opened
 * or written (the mode of root.key itself is checked when it is read, KT_ROOT_KEY_FILE_MODE).
 *
 * @example
 * ```ts
 * assertHomeSafe(settings.home, { rootKeyFiles: !settings.rootKeyFromEnv }); // throws KT_HOME_UNSAFE or KT_ROOT_KEY_FILE_OWNER
 * ```
 */
import { lstatSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { KeyturnError } from '../core/errors.js';
import { NEXT_ROOT_KEY_FILE, ROOT_KEY_FILE } from '../crypto/root-key.js';

const octal = (m: number) => `0${(m & 0o777).toString(8).padStart(3, '0')}`;

/** Throws KT_HOME_UNSAFE for a home writable by group or others or owned by another user; KT_ROOT_KEY_FILE_OWNER for a key file owned by another user. A home that does not exist yet passes. */
export function assertHomeSafe(home: string, options: { rootKeyFiles: boolean }): void {
  const st = statOrNull(home);
  if (st === null) return;
  if (!st.isDirectory()) throw new KeyturnError('KT_HOME_UNSAFE', `the home ${home} is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new KeyturnError(
      'KT_HOME_UNSAFE',
      `the home ${home} is owned by uid ${st.uid}, not by the user running Keyturn (uid ${uid}); run \`chown ${uid} ${home}\` as an administrator, or use a home of your own`,
      { details: { home, owner: st.uid, uid } },
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new KeyturnError('KT_HOME_UNSAFE', `the home ${home} has mode ${octal(st.mode)}: group or others can write it; run \`chmod 700 ${home}\``, { details: { home, mode: octal(st.mode) } });
  }
  if (!options.rootKeyFiles || uid === undefined) return;
  for (const name of [ROOT_KEY_FILE, NEXT_ROOT_KEY_FILE]) {
    const file = join(home, name);
    const key = lstatOrNull(file);
    if (key !== null && key.uid !== uid) {
      throw new KeyturnError('KT_ROOT_KEY_FILE_OWNER', `${file} is owned by uid ${key.uid}, not by the user running Keyturn (uid ${uid}); run \`chown ${uid} ${file}\` as an administrator`, {
        details: { file, owner: key.uid, uid },
      });
    }
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
