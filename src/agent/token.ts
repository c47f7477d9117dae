/**
 * The agent's API token, from its token file: read again whenever the file changed (its mtime,
 * size or inode differ from the last read), so a token rotated on disk is used by the next
 * request without a restart. `invalidate()` forces a fresh read (after a 401). The token is never
 * logged or put in an error.
 *
 * @example
 * ```ts
 * const token = tokenFile('/etc/keyturn/agent.token');
 * await token.current(); // 'kt_...'
 * ```
 */
import { readFile, stat } from 'node:fs/promises';
import { KeyturnError } from '../core/errors.js';

export interface TokenSource {
  /** The token in the file now; KT_AGENT_TOKEN_UNREADABLE when it cannot be read or is empty. */
  current(): Promise<string>;
  /** Forget the cached token: the next `current()` reads the file. */
  invalidate(): void;
}

export function tokenFile(file: string): TokenSource {
  let cached: { stamp: string; token: string } | null = null;
  return {
    current: async () => {
      let stamp: string;
      try {
        const st = await stat(file);
        stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
        if (cached !== null && cached.stamp === stamp) return cached.token;
        const token = (await readFile(file, 'utf8')).trim();
        if (token === '') throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `the token file ${file} is empty`);
        cached = { stamp, token };
        return token;
      } catch (e) {
        if (e instanceof KeyturnError) throw e;
        throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `cannot read the token file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    },
    invalidate: () => {
      cached = null;
    },
  };
}
