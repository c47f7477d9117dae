/**
 * Shared by the audit unit tests: the golang.org/x/mod sumdb/note test key pair (note_test.go,
 * commit 02c9913; the vkey and the signed example note there are reproduced byte for byte), and
 * a helper that returns the KT_ code a call throws.
 */
import { isKeyturnError } from '../../src/core/errors.js';

export const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
export const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';

/** The code `f` throws (a non-Keyturn error is named as such), or undefined when it returns. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isKeyturnError(e) ? e.code : `not a KeyturnError: ${String(e)}`;
  }
  return undefined;
}
