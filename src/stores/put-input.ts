/**
 * A put's input checked the way every store checks it, before anything is written: the value
 * (KT_VALUE_*), the stages (KT_STAGE_UNKNOWN), the version id (KT_USAGE unless 1 to 128 of
 * [A-Za-z0-9._:-]; a new UUID when none is given), the expected current version (KT_USAGE unless
 * a whole number, 0 or more) and the metadata (KT_TAG_INVALID, KT_USAGE). One rule for the
 * embedded store and every outside one.
 *
 * @example
 * ```ts
 * const { stages, versionId, expected, metadata } = checkPut(value, options, this.maxValueBytes);
 * ```
 */
import { randomUUID } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';
import { checkMetadata } from '../core/metadata.js';
import type { SecretMetadata, SecretValue, Stage } from '../core/types.js';
import { assertValidValue, parseStage, printable } from '../core/values.js';
import type { PutOptions } from './store.js';

/** A version id: 1 to 128 of [A-Za-z0-9._:-]. */
export const VERSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface CheckedPut {
  readonly stages: Stage[];
  readonly versionId: string;
  readonly expected: number | undefined;
  readonly metadata: Partial<SecretMetadata> | undefined;
}

export function checkPut(value: SecretValue, options: PutOptions, maxValueBytes: number): CheckedPut {
  assertValidValue(value, maxValueBytes);
  const stages = [...new Set((options.stages ?? ['current']).map((s) => parseStage(s)))];
  const versionId = options.versionId ?? randomUUID();
  if (!VERSION_ID.test(versionId)) throw new KeyturnError('KT_USAGE', `version id "${printable(versionId)}" must be 1 to 128 characters of [A-Za-z0-9._:-]`);
  const expected = options.expectCurrentVersion;
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new KeyturnError('KT_USAGE', 'the expected current version must be a whole number, 0 or more (0: the secret must not exist yet)');
  }
  return { stages, versionId, expected, metadata: options.metadata ? checkMetadata(options.metadata) : undefined };
}
