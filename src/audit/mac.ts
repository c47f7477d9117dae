/**
 * The MACs over the audit log's unsigned rows: each leaf row (`audit_leaves.leaf_mac`) and the
 * head row (`audit_head.head_mac`), HMAC-SHA-256 under the audit MAC key (keys.ts, sealed by the
 * key ring). SHA-256 alone is public: anyone who can write the database can recompute leaf hashes
 * and a head; without the MAC key they cannot make these MACs, so a forged row is refused before
 * the next checkpoint signs it (log.ts) and named by `audit verify` (stored-verify.ts).
 *
 * Inputs are domain-separated and fixed-width where it matters:
 * - leaf: `keyturn-audit-leaf-mac/v1\0` ‖ leaf hash (32 bytes): the leaf hash is SHA-256 of the
 *   leaf text, which holds the event's seq and prev, so the MAC binds the text and its place in
 *   the chain (a row moved elsewhere keeps a valid MAC and is named by the seq/prev diagnosis);
 * - head: `keyturn-audit-head-mac/v1\0` ‖ the head's columns as one line each (size, prev hex,
 *   compact range base64, last event time, checkpoint size, checkpoint time; empty for null).
 *   The root is a function of the compact range, so it is covered too.
 *
 * @example
 * ```ts
 * const mac = leafMac(key, leafHash);               // base64, stored in leaf_mac
 * leafMacValid(key, leafHash, row.leaf_mac);        // true when untouched
 * headMacValid(key, head);                          // false when the head row was rewritten
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Head } from './repo.js';

const LEAF_DOMAIN = Buffer.from('keyturn-audit-leaf-mac/v1\0', 'utf8');
const HEAD_DOMAIN = 'keyturn-audit-head-mac/v1\0';

/** base64 HMAC of a leaf hash. */
export function leafMac(key: Buffer, leafHash: Uint8Array): string {
  return createHmac('sha256', key).update(LEAF_DOMAIN).update(leafHash).digest('base64');
}

/** Whether a stored leaf MAC (null: none) is the right one for this leaf hash. */
export function leafMacValid(key: Buffer, leafHash: Uint8Array, stored: string | null | undefined): boolean {
  return typeof stored === 'string' && sameText(stored, leafMac(key, leafHash));
}

/** base64 HMAC of every head column the appender resumes from. */
export function headMac(key: Buffer, head: Omit<Head, 'mac'>): string {
  const text = [
    head.size,
    head.prev,
    Buffer.concat(head.nodes).toString('base64'),
    head.lastEventAt ?? '',
    head.checkpointSize,
    head.checkpointAt ?? '',
  ].join('\n');
  return createHmac('sha256', key).update(HEAD_DOMAIN).update(text, 'utf8').digest('base64');
}

/** Whether the head row carries the MAC of its own columns. */
export function headMacValid(key: Buffer, head: Head): boolean {
  return head.mac !== null && sameText(head.mac, headMac(key, head));
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
