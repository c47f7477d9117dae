/**
 * How Keyturn's versions map onto AWS Secrets Manager's: a Keyturn version id becomes a
 * deterministic ClientRequestToken (which AWS makes the VersionId), and each finished version
 * carries one custom staging label, `kt:<n>:<s|j>:<id>` (its number, value kind and Keyturn id):
 * AWS allows only 20 labels across a secret's versions. While a put is in flight its version holds
 * `kt:v:<s|j>:<id>` (written with the value) and then `kt#<n>`, the number it claims (a label only
 * one version can hold). Keyturn's stages are AWS's own labels AWSCURRENT, AWSPENDING and AWSPREVIOUS.
 *
 * @example
 * ```ts
 * tokenFor('run-7');            // '3f0c...-....' (36 characters, the same in every process)
 * infoLabel('json', 'run-7');   // 'kt:v:j:run-7'
 * readLabels(['AWSCURRENT', 'kt:3:s:run-7']); // { id: 'run-7', number: 3, claimed: null, kind: 'string', stages: ['current'] }
 * ```
 */
import { createHash } from 'node:crypto';
import type { Stage } from '../../core/types.js';

/**
 * Keyturn's stages as AWS staging labels.
 *
 * @example
 * ```ts
 * AWS_STAGE.current; // 'AWSCURRENT'
 * ```
 */
export const AWS_STAGE: Readonly<Record<Stage, string>> = { current: 'AWSCURRENT', pending: 'AWSPENDING', previous: 'AWSPREVIOUS' };
const STAGE_OF = new Map<string, Stage>(Object.entries(AWS_STAGE).map(([k, v]) => [v, k as Stage]));

/**
 * The ClientRequestToken (AWS VersionId) of a Keyturn version id: a UUID-shaped SHA-256 digest,
 * 36 characters (AWS wants 32 to 64), the same in every process.
 *
 * @example
 * ```ts
 * tokenFor('run-7') === tokenFor('run-7'); // true
 * ```
 */
export function tokenFor(versionId: string): string {
  const h = createHash('sha256').update(`keyturn-version:${versionId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The label carrying a version's Keyturn id and kind.
 *
 * @example
 * ```ts
 * infoLabel('string', 'run-7'); // 'kt:v:s:run-7'
 * ```
 */
export function infoLabel(kind: 'string' | 'json', versionId: string): string {
  return `kt:v:${kind === 'json' ? 'j' : 's'}:${versionId}`;
}

/**
 * The label of a finished version: its number, kind and Keyturn id.
 *
 * @example
 * ```ts
 * finalLabel(3, 'json', 'run-7'); // 'kt:3:j:run-7'
 * ```
 */
export function finalLabel(n: number, kind: 'string' | 'json', versionId: string): string {
  return `kt:${n}:${kind === 'json' ? 'j' : 's'}:${versionId}`;
}

/**
 * The label a put claims its number with (one version at most holds it).
 *
 * @example
 * ```ts
 * numberLabel(3); // 'kt#3'
 * ```
 */
export function numberLabel(n: number): string {
  return `kt#${n}`;
}

/**
 * What a version's labels say. `id` is null for a version Keyturn did not write.
 *
 * @example
 * ```ts
 * const info: LabelInfo = readLabels(['AWSPENDING', 'kt#2', 'kt:v:j:run-2']);
 * ```
 */
export interface LabelInfo {
  id: string | null;
  kind: 'string' | 'json';
  /** The number of a finished version; null while its put is in flight. */
  number: number | null;
  /** The number an in-flight put has claimed (`kt#<n>`). */
  claimed: number | null;
  stages: Stage[];
}

/**
 * Reads a version's labels: its Keyturn id, kind, number and stages.
 *
 * @example
 * ```ts
 * readLabels(['AWSCURRENT', 'kt#3', 'kt:v:s:run-7']); // { id: 'run-7', kind: 'string', number: 3, stages: ['current'] }
 * ```
 */
export function readLabels(labels: readonly string[]): LabelInfo {
  let id: string | null = null;
  let kind: 'string' | 'json' = 'string';
  let number: number | null = null;
  let claimed: number | null = null;
  let final = false;
  const stages: Stage[] = [];
  for (const l of labels) {
    const done = /^kt:(\d{1,15}):([sj]):(.+)$/.exec(l);
    if (done) {
      number = Number(done[1]);
      kind = done[2] === 'j' ? 'json' : 'string';
      id = done[3]!;
      final = true;
      continue;
    }
    const info = /^kt:v:([sj]):(.+)$/.exec(l);
    if (info && !final) {
      kind = info[1] === 'j' ? 'json' : 'string';
      id = info[2]!;
      continue;
    }
    const n = /^kt#(\d{1,15})$/.exec(l);
    if (n) claimed = Number(n[1]);
    const st = STAGE_OF.get(l);
    if (st) stages.push(st);
  }
  const order: Stage[] = ['current', 'pending', 'previous'];
  return { id, kind, number, claimed, stages: order.filter((s) => stages.includes(s)) };
}

/**
 * True for the labels Keyturn adds of its own (not the AWS stages).
 *
 * @example
 * ```ts
 * isKeyturnLabel('kt#3'); // true
 * isKeyturnLabel('AWSCURRENT'); // false
 * ```
 */
export function isKeyturnLabel(label: string): boolean {
  return label.startsWith('kt:v:') || /^kt#\d+$/.test(label) || /^kt:\d+:[sj]:/.test(label);
}
