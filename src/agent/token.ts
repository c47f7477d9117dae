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

/** What identifies a version of the file: its inode, size and mtime; KT_AGENT_TOKEN_UNREADABLE when it cannot be read. */
export async function fileStamp(file: string, what: string): Promise<string> {
  try {
    const st = await stat(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `cannot read the ${what} file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The file's text without surrounding whitespace, and its stamp; KT_AGENT_TOKEN_UNREADABLE when unreadable or empty. */
export async function readStampedFile(file: string, what: string): Promise<{ stamp: string; text: string }> {
  const stamp = await fileStamp(file, what);
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `cannot read the ${what} file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text === '') throw new KeyturnError('KT_AGENT_TOKEN_UNREADABLE', `the ${what} file ${file} is empty`);
  return { stamp, text };
}

export function tokenFile(file: string): TokenSource {
  let cached: { stamp: string; token: string } | null = null;
  return {
    current: async () => {
      const stamp = await fileStamp(file, 'token');
      if (cached !== null && cached.stamp === stamp) return cached.token;
      const read = await readStampedFile(file, 'token');
      cached = { stamp: read.stamp, token: read.text };
      return read.text;
    },
    invalidate: () => {
      cached = null;
    },
  };
}
