/**
 * What Keyturn keeps in an OCI secret's own `metadata` map, under the key `keyturn` (as JSON text): the path,
 * Keyturn's metadata (type, owner, tags; the description is OCI's own field too), which version
 * ids hold the stages current, pending and previous, and the times OCI does not record (last
 * update, when the secret was deleted). Every change to it is one UpdateSecret carrying the
 * secret's ETag in `if-match`, so each stage move is OCI's own compare-and-set.
 *
 * @example
 * ```ts
 * const rec = readRecord(secret.metadata, path);
 * rec.stages.current; // 'run-42'
 * ```
 */
import { STAGES, type Stage } from '../../core/types.js';

export interface KeyturnRecord {
  path: string;
  type: string | null;
  description: string | null;
  owner: string | null;
  tags: Record<string, string>;
  stages: Record<Stage, string | null>;
  updatedAt: number;
  deletedAt: number | null;
}

export const RECORD_KEY = 'keyturn';

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** The record in a secret's metadata (a fresh one for a secret Keyturn did not make). */
export function readRecord(metadata: Record<string, unknown> | undefined, path: string, fallbackTime: number): KeyturnRecord {
  let raw = metadata?.[RECORD_KEY];
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw) as unknown;
    } catch {
      raw = undefined;
    }
  }
  const r = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const stagesRaw = r.stages !== null && typeof r.stages === 'object' ? (r.stages as Record<string, unknown>) : {};
  const tagsRaw = r.tags !== null && typeof r.tags === 'object' ? (r.tags as Record<string, unknown>) : {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(tagsRaw)) if (typeof v === 'string') tags[k] = v;
  const stages = {} as Record<Stage, string | null>;
  for (const s of STAGES) stages[s] = text(stagesRaw[s]);
  return {
    path: text(r.path) ?? path,
    type: text(r.type),
    description: text(r.description),
    owner: text(r.owner),
    tags,
    stages,
    updatedAt: typeof r.updatedAt === 'number' ? r.updatedAt : fallbackTime,
    deletedAt: typeof r.deletedAt === 'number' ? r.deletedAt : null,
  };
}

/** The secret's metadata with `rec` in it as JSON text (OCI metadata is key-value pairs; other keys kept). */
export function withRecord(metadata: Record<string, unknown> | undefined, rec: KeyturnRecord): Record<string, unknown> {
  return { ...(metadata ?? {}), [RECORD_KEY]: JSON.stringify(rec) };
}
