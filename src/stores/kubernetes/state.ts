/**
 * What the index Secret of a path records in its `keyturn.dev/state` annotation: the versions
 * (id, number, kind, creation time, object name), which version holds each stage, the next
 * version number, the metadata and the deletion window. The index Secret is the single object
 * every change to a secret replaces, with the resourceVersion it read: the compare-and-set.
 *
 * @example
 * ```ts
 * const state = parseState(annotations['keyturn.dev/state']);
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { SecretInfo, SecretMetadata, Stage } from '../../core/types.js';

export interface VersionEntry {
  id: string;
  number: number;
  kind: 'string' | 'json';
  createdAt: number;
  object: string;
}

export interface IndexState {
  v: 1;
  path: string;
  next: number;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  purgeAfter: number | null;
  meta: SecretMetadata;
  /** Oldest first. */
  versions: VersionEntry[];
  stages: Partial<Record<Stage, string>>;
}

export const STATE_ANNOTATION = 'keyturn.dev/state';

/** A fresh state for a secret created now. */
export function newState(path: string, now: number): IndexState {
  return { v: 1, path, next: 1, createdAt: now, updatedAt: now, deletedAt: null, purgeAfter: null, meta: { type: null, description: null, owner: null, tags: {} }, versions: [], stages: {} };
}

/** Parses the annotation; KT_STORE_FAILED when it is missing or not Keyturn's. */
export function parseState(text: string | undefined, name: string): IndexState {
  try {
    const s = JSON.parse(text ?? '') as IndexState;
    if (s.v === 1 && typeof s.path === 'string' && Array.isArray(s.versions)) return s;
  } catch {
    // fall through
  }
  throw new KeyturnError('KT_STORE_FAILED', `the Secret ${name} is not a Keyturn index (its ${STATE_ANNOTATION} annotation is missing or malformed)`, { details: { object: name } });
}

/** The stages each version holds. */
export function stagesOf(state: IndexState, id: string): Stage[] {
  return (['current', 'pending', 'previous'] as const).filter((st) => state.stages[st] === id);
}

/** The SecretInfo of a state. */
export function infoOf(state: IndexState): SecretInfo {
  const currentId = state.stages.current;
  const current = state.versions.find((v) => v.id === currentId);
  return {
    path: state.path,
    ...state.meta,
    tags: { ...state.meta.tags },
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    versionCount: state.versions.length,
    currentVersion: current ? { id: current.id, number: current.number } : null,
    deletedAt: state.deletedAt,
    purgeAfter: state.purgeAfter,
  };
}
