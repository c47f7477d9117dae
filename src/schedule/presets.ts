/**
 * The built-in rotation presets: common kinds of credential and how often they are usually
 * rotated. A schedule block (a secret's own, or a default under `schedules:`) names one with
 * `preset:`; its values then count at that block's place in the precedence, and the block's own
 * keys win over them (./resolve.ts).
 *
 * @example
 * ```yaml
 * secrets:
 *   prod/api/token:
 *     type: app-secret
 *     schedule: { preset: api-token, window: { days: [mon-fri], hours: "09:00-17:00" } }
 * ```
 */

/** What a preset sets: a cadence and, for some, an expiry warning. */
export interface PresetValues {
  readonly every: string;
  readonly expiryWarning?: string;
}

export interface Preset extends PresetValues {
  /** What it is for, for the docs and `keyturn schedule presets`. */
  readonly description: string;
}

export const PRESETS = {
  'service-principal-certificate': { every: '90d', description: 'Service-principal (workload identity) certificates' },
  'api-token': { every: '60d', expiryWarning: '7d', description: 'API tokens (a 7-day warning before they are overdue)' },
  'signing-key': { every: '90d', description: 'Signing keys' },
  siem: { every: '30d', description: 'SIEM ingestion secrets' },
  telemetry: { every: '30d', description: 'Telemetry and monitoring secrets' },
  'root-key': { every: '30d', description: 'Root keys' },
  'admin-key': { every: '30d', description: 'Administrator keys and credentials' },
  'database-password': { every: '90d', description: 'Database passwords' },
  'app-secret': { every: '90d', description: 'Application secrets' },
  'jwt-secret': { every: '180d', description: 'JWT signing secrets (HMAC)' },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
