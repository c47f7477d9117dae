/**
 * The MACs over the audit log's unsigned rows: each leaf row (`audit_leaves.leaf_mac`) and the
 * head row (`audit_head.head_mac`), HMAC-SHA-256 under the audit MAC key (keys.ts, sealed by the
 * key ring). SHA-256 alone is public: anyone who can write the database can recompute leaf hashes
 * and a head; without the MAC key they cannot make these MACs, so a forged row is refused before
 * the next checkpoint signs it (log.ts) and named by `audit verify` (stored-verify.ts).
 *
 * Inputs are domain-separated and fixed-width where it matters:
 * - leaf: `keyturn-leaf-mac/v1\0` ‖ leaf hash (32 bytes): the leaf hash is SHA-256 of the
 *   leaf text, which holds the event's seq and prev, so the MAC binds the text and its place in
 *   the chain (a row moved elsewhere keeps a valid MAC and is named by the seq/prev diagnosis);
 * - head: `keyturn-audit-head-mac/v1\0` ‖ the head's columns as one line each (size, prev hex,
 *   compact range base64, last event time, checkpoint size, checkpoint time; empty for null).
 *   The root is a function of the compact range, so it is covered too.
 *
 * HMAC-SHA-256 (RFC 2104) is computed here from two one-shot SHA-256 calls over the precomputed
 * padded keys: `createHmac` costs about 20 µs per call on Node 24 (it sets up an OpenSSL context
 * each time), which alone would halve the durable append rate; this costs about 1 µs. The unit
 * test checks it against `createHmac`.
 *
 * Leaf MACs have two versions, both 44 characters of base64. New rows get **v2**: one SHA-256 call over
 * `K2 ‖ 0^32 ‖ keyturn-leaf-mac/v2\0 ‖ leaf hash`, where `K2 = HMAC(key, "keyturn-leaf-mac/v2 key")`
 * fills the first 64-byte block alone (a secret chaining value) and the message is always 52
 * bytes. A secret-prefix MAC is unsafe with SHA-256 for variable-length messages (length extension:
 * from SHA-256(K ‖ m) anyone computes SHA-256(K ‖ m ‖ pad ‖ x)); here every message verified has
 * one fixed length, so an extension is a message no verifier ever accepts, and over a prefix-free
 * (fixed-length) message set the keyed compression chain is a PRF under the same assumption as
 * HMAC's proof (the compression function is a PRF). It costs one SHA-256 call instead of two.
 * Rows written before keep **v1** (HMAC-SHA-256 of `keyturn-leaf-mac/v1\0 ‖ leaf hash`) and still
 * verify: a stored MAC is accepted when it is the v2 or the v1 MAC of the leaf hash (the row does
 * not say which; checking both costs one more call, and only for the few rows no checkpoint covers
 * yet). Either version needs the MAC key to make, so accepting both adds no forgery.
 *
 * @example
 * ```ts
 * const mac = leafMac(key, leafHash);               // base64, stored in leaf_mac
 * leafMacValid(key, leafHash, row.leaf_mac);        // true when untouched
 * headMacValid(key, head);                          // false when the head row was rewritten
 * ```
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Head } from './repo.js';

/** 20 bytes: pad, domain and leaf hash (116 bytes) fit the inner hash in two SHA-256 blocks. */
const LEAF_DOMAIN = Buffer.from('keyturn-leaf-mac/v1\0', 'utf8');
/** 20 bytes, the same length: K2 block, domain and leaf hash are 116 bytes, two SHA-256 blocks. */
const LEAF_DOMAIN_V2 = Buffer.from('keyturn-leaf-mac/v2\0', 'utf8');
const V2_KEY_LABEL = Buffer.from('keyturn-leaf-mac/v2 key', 'utf8');
const HEAD_DOMAIN = 'keyturn-audit-head-mac/v1\0';

const BLOCK = 64;
const HASH = 32;

/** Per key: the padded keys, and scratch buffers for the fixed-size leaf MAC (calls are synchronous). */
interface Pads {
  readonly inner: Buffer;
  readonly outer: Buffer;
  /** inner pad ‖ LEAF_DOMAIN ‖ (leaf hash) */
  readonly leafIn: Buffer;
  /** outer pad ‖ (inner digest) */
  readonly leafOut: Buffer;
  /** K2 ‖ 0^32 ‖ LEAF_DOMAIN_V2 ‖ (leaf hash) */
  readonly leafV2: Buffer;
}
const cache = new WeakMap<Buffer, Pads>();

function padsOf(key: Buffer): Pads {
  let pads = cache.get(key);
  if (pads === undefined) {
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? hash('sha256', key, 'buffer') : key).copy(k);
    const inner = Buffer.from(k.map((b) => b ^ 0x36));
    const outer = Buffer.from(k.map((b) => b ^ 0x5c));
    const k2 = hash('sha256', Buffer.concat([outer, hash('sha256', Buffer.concat([inner, V2_KEY_LABEL]), 'buffer')]), 'buffer');
    pads = {
      inner,
      outer,
      leafIn: Buffer.concat([inner, LEAF_DOMAIN, Buffer.alloc(HASH)]),
      leafOut: Buffer.concat([outer, Buffer.alloc(HASH)]),
      leafV2: Buffer.concat([k2, Buffer.alloc(BLOCK - HASH), LEAF_DOMAIN_V2, Buffer.alloc(HASH)]),
    };
    cache.set(key, pads);
  }
  return pads;
}

/**
 * HMAC-SHA-256 of the concatenated parts, base64.
 *
 * @example
 * ```ts
 * hmacSha256(key, [Buffer.from('message')]) === createHmac('sha256', key).update('message').digest('base64'); // true
 * ```
 */
export function hmacSha256(key: Buffer, parts: readonly Uint8Array[]): string {
  const pads = padsOf(key);
  const inner = hash('sha256', Buffer.concat([pads.inner, ...parts]), 'buffer');
  return hash('sha256', Buffer.concat([pads.outer, inner]), 'base64');
}

/**
 * The v2 leaf MAC new rows get: the base64 keyed SHA-256 above (one hash call).
 *
 * @example
 * ```ts
 * leafMacV2(key, leafHash); // '…=' (44 characters)
 * ```
 */
export function leafMacV2(key: Buffer, leafHash: Uint8Array): string {
  if (leafHash.length !== HASH) return hash('sha256', Buffer.concat([padsOf(key).leafV2.subarray(0, BLOCK + LEAF_DOMAIN_V2.length), leafHash]), 'base64');
  const { leafV2 } = padsOf(key);
  leafV2.set(leafHash, leafV2.length - HASH);
  return hash('sha256', leafV2, 'base64');
}

/** base64 v1 HMAC of a leaf hash (the same as `hmacSha256(key, [LEAF_DOMAIN, leafHash])`, without allocating). */
export function leafMac(key: Buffer, leafHash: Uint8Array): string {
  if (leafHash.length !== HASH) return hmacSha256(key, [LEAF_DOMAIN, leafHash]);
  const { leafIn, leafOut } = padsOf(key);
  leafIn.set(leafHash, leafIn.length - HASH);
  leafOut.set(hash('sha256', leafIn, 'buffer'), BLOCK);
  return hash('sha256', leafOut, 'base64');
}

/** Whether a stored leaf MAC (null: none) is the v2 (or, for older rows, the v1) MAC of this leaf hash. */
export function leafMacValid(key: Buffer, leafHash: Uint8Array, stored: string | null | undefined): boolean {
  if (typeof stored !== 'string') return false;
  return sameText(stored, leafMacV2(key, leafHash)) || sameText(stored, leafMac(key, leafHash));
}

/** base64 HMAC of every head column the appender resumes from. */
export function headMac(key: Buffer, head: Omit<Head, 'mac'>): string {
  const text = [head.size, head.prev, Buffer.concat(head.nodes).toString('base64'), head.lastEventAt ?? '', head.checkpointSize, head.checkpointAt ?? ''].join('\n');
  return hmacSha256(key, [Buffer.from(HEAD_DOMAIN + text, 'utf8')]);
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
