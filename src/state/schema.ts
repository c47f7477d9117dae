/**
 * Table types of the state database, shared by SQLite and PostgreSQL.
 * Times are epoch milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL); binary data is base64 text.
 */
export interface SecretsTable {
  id: string;
  path: string;
  type: string | null;
  description: string | null;
  owner: string | null;
  /** JSON object of string tags. */
  tags: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  purge_after: number | null;
  /** The number the next version gets. */
  next_version: number;
}

export interface SecretVersionsTable {
  secret_id: string;
  id: string;
  number: number;
  kind: 'string' | 'json';
  data_key_id: string;
  /** base64(nonce || ciphertext || tag), AES-256-GCM, AAD = path and version id. */
  sealed: string;
  created_at: number;
}

export interface SecretStagesTable {
  secret_id: string;
  stage: string;
  version_id: string;
  updated_at: number;
}

export interface DataKeysTable {
  id: string;
  /** base64 of the data key sealed under the root key. */
  wrapped: string;
  /** Fingerprint of the root key that wrapped it. */
  root_key_id: string;
  active: number;
  created_at: number;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface Schema {
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  secret_stages: SecretStagesTable;
  data_keys: DataKeysTable;
  kt_settings: SettingsTable;
}
