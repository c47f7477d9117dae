/**
 * The words of Keyturn as types: secrets, versions, stages and values.
 * See ../../docs/architecture.md for the meaning of each.
 */

/** A label on one version. A stage sits on at most one version of a secret. */
export const STAGES = ['current', 'pending', 'previous'] as const;
export type Stage = (typeof STAGES)[number];

/** A JSON value that can sit in a field of a secret. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A secret's value: a plain string, or a JSON object of fields. */
export type SecretValue = string | { [field: string]: JsonValue };

export interface SecretMetadata {
  /** Free-form kind of secret: `app-secret`, `database-credential`, ... */
  type: string | null;
  description: string | null;
  owner: string | null;
  tags: Record<string, string>;
}

/** What a version is, without its value. */
export interface VersionInfo {
  /** Immutable id, unique within the secret (a UUID unless the caller chose one, e.g. a run id). */
  id: string;
  /** 1, 2, 3, ... in order of creation. */
  number: number;
  stages: Stage[];
  /** `string` or `json`. */
  kind: 'string' | 'json';
  createdAt: number;
}

/** A version with its decrypted value. */
export interface Version extends VersionInfo {
  path: string;
  value: SecretValue;
  /** Set only when the primary store was unreachable and a read-only fallback replica answered: `replica:<name>` (docs/replicas.md). */
  servedBy?: string;
}

/** A secret without any value. */
export interface SecretInfo extends SecretMetadata {
  path: string;
  createdAt: number;
  updatedAt: number;
  /** Number of versions kept. */
  versionCount: number;
  /** The version staged `current`, if any. */
  currentVersion: { id: string; number: number } | null;
  deletedAt: number | null;
  /** When a deleted secret may be purged (end of its recovery window). */
  purgeAfter: number | null;
}
