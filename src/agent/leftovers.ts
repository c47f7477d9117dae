/**
 * Removes the temp files a killed agent left beside its destinations. A render writes
 * `.NAME.<random>.keyturn-tmp` next to the file and renames it into place; a `kill -9` between
 * the two leaves it behind (the destination itself is whole, old or new). When the agent starts,
 * before any render, the leftovers of its own destinations are removed: only files named after
 * one of them with that suffix, regular files, not followed through symlinks.
 *
 * @example
 * ```ts
 * await removeLeftovers(config.templates, log); // .db.env.3f9a1c2b4d5e.keyturn-tmp is gone
 * ```
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/logger.js';

const SUFFIX = /^\.[0-9a-f]{12}\.keyturn-tmp$/;

/** Removes leftover temp files of these destinations; never throws (a folder that cannot be read is skipped). */
export async function removeLeftovers(templates: ReadonlyArray<{ readonly destination: string }>, log: Logger): Promise<number> {
  let removed = 0;
  const byDir = new Map<string, Set<string>>();
  for (const t of templates) {
    const dir = dirname(t.destination);
    if (!byDir.has(dir)) byDir.set(dir, new Set());
    byDir.get(dir)!.add(basename(t.destination));
  }
  for (const [dir, names] of byDir) {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const owner = [...names].find((n) => entry.startsWith(`.${n}.`) && SUFFIX.test(entry.slice(n.length + 1)));
      if (owner === undefined) continue;
      const path = join(dir, entry);
      try {
        if (!(await lstat(path)).isFile()) continue;
        await rm(path);
        removed += 1;
        log.info({ file: path }, 'agent: removed a temp file an earlier agent left');
      } catch {
        // Gone meanwhile, or not ours to remove.
      }
    }
  }
  return removed;
}
