/**
 * The audit event record: what one Merkle leaf of the audit log says.
 *
 * A leaf is the RFC 8785 canonical JSON of exactly these fields (no others, all present):
 *
 * | field         | type                                     | meaning                                                     |
 * | ------------- | ---------------------------------------- | ----------------------------------------------------------- |
 * | seq           | integer >= 0                             | this event's leaf index: the n-th event written has seq n   |
 * | prev          | 64 lowercase hex                         | leaf hash of event seq-1; GENESIS_PREV (64 zeros) for seq 0 |
 * | time          | RFC 3339 UTC, `2025-01-02T03:04:05.678Z` | when it happened (the writer's clock)                       |
 * | actor         | string, 1..256                           | who: `user:alice`, `token:ci-deploy`, `system:scheduler`    |
 * | source        | string, 1..256                           | through what: `cli`, `api`, `engine`, `agent:web-1`         |
 * | action        | dotted lowercase, 1..128                 | what: `secret.put`, `rotation.set`, `access.read`           |
 * | path          | string up to 512, or null                | the secret path concerned                                   |
 * | versionId     | id up to 128, or null                    | the version concerned                                       |
 * | outcome       | `intent` / `success` / `failure` / `denied` | how it ended (`intent`: recorded before acting; a later event of the same run says how it ended) |
 * | errorCode     | `KT_...`, or null                        | the registry code when it did not succeed (null on success and intent) |
 * | runId         | id up to 128, or null                    | the rotation run, if any                                    |
 * | correlationId | id up to 128, or null                    | ties together the events of one request or job              |
 * | valueHmac     | `hmac-sha256:<key-id>:<base64>`, or null | a keyed hash of the value written, so a value can be searched for (`keyturn audit hash`) |
 *
 * Two more fields are present only when known (absent, not null, otherwise: a leaf written before
 * they existed is still a valid leaf, byte for byte):
 *
 * | field         | type                                     | meaning                                                     |
 * | ------------- | ---------------------------------------- | ----------------------------------------------------------- |
 * | address       | IPv4 or IPv6 literal, up to 64           | the client's network address, for events of an API request  |
 * | userAgent     | string, 1..256                           | the client's `User-Agent` header, when it sent one          |
| fingerprint   | id up to 128                             | `secret.leaked`: the scan finding's fingerprint (never the value) |
| location      | string, 1..1024                          | `secret.leaked`: where the finding is, `FILE:LINE`          |
 *
 * An id is `[A-Za-z0-9._:@/-]`; strings have no control characters.
 *
 * Never a secret value: no field is meant for one, and unknown fields are refused (by
 * makeEvent and decodeEvent), so a value cannot ride along by accident. Where a value must be
 * identified, `valueHmac` carries an HMAC-SHA-256 of it under a dedicated audit HMAC key (never
 * the signing key), never the value.
 *
 * `seq` and `prev` make each leaf self-locating: the Merkle root in a signed checkpoint proves
 * that *something* changed, and these two fields let the verifier say *what* — which index was
 * changed, removed, inserted or moved (see diagnose.ts).
 *
 * @example
 * ```ts
 * const leaf = encodeEvent(makeEvent({ time: new Date(), actor: 'user:alice', source: 'cli',
 *   action: 'secret.put', path: 'prod/db/app_user', versionId: 'v2', outcome: 'success' }, 0, GENESIS_PREV));
 * decodeEvent(leaf).seq; // 0
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import { isWellFormedText } from './text.js';

/** The `prev` of the first event (seq 0): 32 zero bytes in hex. */
export const GENESIS_PREV = '0'.repeat(64);

export const AUDIT_OUTCOMES = ['intent', 'success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a caller gives to record an event; seq and prev are filled in by the log. */
export interface AuditEventInput {
  readonly time: string | Date;
  readonly actor: string;
  readonly source: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly path?: string | null;
  readonly versionId?: string | null;
  readonly errorCode?: string | null;
  readonly runId?: string | null;
  readonly correlationId?: string | null;
  readonly valueHmac?: string | null;
  /** The client's network address (API requests); omitted from the leaf when null or absent. */
  readonly address?: string | null;
  /** The client's User-Agent (API requests); omitted from the leaf when null or absent. */
  readonly userAgent?: string | null;
  /** A scan finding's fingerprint (`secret.leaked`); omitted from the leaf when null or absent. */
  readonly fingerprint?: string | null;
  /** A scan finding's `FILE:LINE` (`secret.leaked`); omitted from the leaf when null or absent. */
  readonly location?: string | null;
}

/** One audit log entry, exactly as hashed into the tree. */
export interface AuditEvent {
  readonly seq: number;
  readonly prev: string;
  readonly time: string;
  readonly actor: string;
  readonly source: string;
  readonly action: string;
  readonly path: string | null;
  readonly versionId: string | null;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | null;
  readonly runId: string | null;
  readonly correlationId: string | null;
  readonly valueHmac: string | null;
  /** Present only when known (see the table above). */
  readonly address?: string;
  readonly userAgent?: string;
  readonly fingerprint?: string;
  readonly location?: string;
}

const FIELDS = ['seq', 'prev', 'time', 'actor', 'source', 'action', 'path', 'versionId', 'outcome', 'errorCode', 'runId', 'correlationId', 'valueHmac'] as const;
/** Present only when known: a leaf without them is as valid as one with them. */
const OPTIONAL_FIELDS = ['address', 'userAgent', 'fingerprint', 'location'] as const;
const INPUT_FIELDS: ReadonlySet<string> = new Set([...FIELDS.filter((f) => f !== 'seq' && f !== 'prev'), ...OPTIONAL_FIELDS]);
const ALL_FIELDS: readonly string[] = [...FIELDS, ...OPTIONAL_FIELDS];
/** An event's `address`: an IPv4 or IPv6 literal (an IPv6 zone is not kept). */
export const EVENT_ADDRESS = /^[0-9A-Fa-f:.]{2,64}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const HASH_HEX = /^[0-9a-f]{64}$/;
const ACTION = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
const ID = /^[A-Za-z0-9._:@/-]+$/;
const ERROR_CODE = /^KT_[A-Z0-9_]+$/;
/** `hmac-sha256:<key-id>:<base64 of 32 bytes>`. */
export const VALUE_HMAC = /^hmac-sha256:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9+/]{43}=$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Builds and checks an event from caller fields plus its position in the log.
 *
 * @example
 * ```ts
 * makeEvent({ time: '2025-01-02T03:04:05.678Z', actor: 'system:scheduler', source: 'engine',
 *   action: 'rotation.start', outcome: 'success', runId: 'run_01' }, 7, prevHex);
 * ```
 */
export function makeEvent(input: AuditEventInput, seq: number, prev: string): AuditEvent {
  for (const key of Object.keys(input)) {
    if (!INPUT_FIELDS.has(key)) throw invalid(`an event has no field "${key}"`);
  }
  const time = input.time instanceof Date ? input.time.toISOString() : input.time;
  // Built here with exactly the event's fields: only their values need checking.
  const event: AuditEvent = {
    seq,
    prev,
    time,
    actor: input.actor,
    source: input.source,
    action: input.action,
    path: input.path ?? null,
    versionId: input.versionId ?? null,
    outcome: input.outcome,
    errorCode: input.errorCode ?? null,
    runId: input.runId ?? null,
    correlationId: input.correlationId ?? null,
    valueHmac: input.valueHmac ?? null,
  };
  if (input.address !== undefined && input.address !== null) (event as { address?: string }).address = input.address;
  if (input.userAgent !== undefined && input.userAgent !== null) (event as { userAgent?: string }).userAgent = input.userAgent;
  if (input.fingerprint !== undefined && input.fingerprint !== null) (event as { fingerprint?: string }).fingerprint = input.fingerprint;
  if (input.location !== undefined && input.location !== null) (event as { location?: string }).location = input.location;
  return checkValues(event);
}

/**
 * The leaf bytes of an event: its RFC 8785 canonical JSON.
 *
 * @example
 * ```ts
 * encodeEvent(event).toString(); // '{"action":"secret.put","actor":"user:alice",...}'
 * ```
 */
export function encodeEvent(event: AuditEvent): Buffer {
  return encodeCheckedEvent(checkEvent(event));
}

/**
 * The RFC 8785 bytes of an event that {@link checkEvent} accepted, written directly: its members
 * are fixed, so they are emitted in code-unit order; a string is written as JSON.stringify writes
 * it, which is RFC 8785's string form for text without lone surrogates (checkEvent refuses
 * those); seq is a safe integer, whose shortest form is its decimal digits. Equal, byte for byte,
 * to `canonicalJson(event)` (event.test.ts checks it), several times faster.
 *
 * @example
 * ```ts
 * encodeCheckedEvent(makeEvent(input, 0, GENESIS_PREV)).equals(canonicalJson(makeEvent(input, 0, GENESIS_PREV))); // true
 * ```
 */
export function encodeCheckedEvent(e: AuditEvent): Buffer {
  return Buffer.from(encodeCheckedEventText(e), 'utf8');
}

/**
 * {@link encodeCheckedEvent} as text (what the state database stores), without the bytes.
 *
 * @example
 * ```ts
 * Buffer.from(encodeCheckedEventText(event), 'utf8').equals(encodeCheckedEvent(event)); // true
 * ```
 */
export function encodeCheckedEventText(e: AuditEvent): string {
  const address = e.address === undefined ? '' : `"address":${str(e.address)},`;
  const userAgent = e.userAgent === undefined ? '' : `"userAgent":${str(e.userAgent)},`;
  const fingerprint = e.fingerprint === undefined ? '' : `"fingerprint":${str(e.fingerprint)},`;
  const location = e.location === undefined ? '' : `"location":${str(e.location)},`;
  return `{"action":${str(e.action)},"actor":${str(e.actor)},${address}"correlationId":${str(e.correlationId)},"errorCode":${str(e.errorCode)},${fingerprint}${location}"outcome":${str(e.outcome)},"path":${str(e.path)},"prev":${str(e.prev)},"runId":${str(e.runId)},"seq":${e.seq},"source":${str(e.source)},"time":${str(e.time)},${userAgent}"valueHmac":${str(e.valueHmac)},"versionId":${str(e.versionId)}}`;
}

/** Printable ASCII without `"` and `\`: JSON writes such a string as it is, between quotes. */
const JSON_PLAIN = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]*$/;

function str(v: string | null): string {
  if (v === null) return 'null';
  return JSON_PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
}

/**
 * Parses and checks a leaf; throws KT_AUDIT_EVENT_INVALID when it is not an event.
 *
 * @example
 * ```ts
 * decodeEvent(leaf).action; // 'secret.put'
 * ```
 */
export function decodeEvent(leaf: Uint8Array): AuditEvent {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(leaf));
  } catch (e) {
    throw new KeyturnError('KT_AUDIT_EVENT_INVALID', 'the leaf is not UTF-8 JSON', { cause: e });
  }
  return checkEvent(value);
}

/** Throws KT_AUDIT_EVENT_INVALID unless `value` is a well-formed event; returns it typed. */
export function checkEvent(value: unknown): AuditEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('an event is a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!ALL_FIELDS.includes(key)) throw invalid(`an event has no field "${key}"`);
  }
  for (const key of FIELDS) if (!(key in record)) throw invalid(`the event lacks field "${key}"`);
  return checkValues(record as unknown as AuditEvent);
}

/** The last time string found valid: the events of one append share their time, checked once. */
let lastValidTime: string | undefined;

/** The value checks of {@link checkEvent}, for an object known to have exactly the event's fields. */
function checkValues(e: AuditEvent): AuditEvent {
  if (!Number.isSafeInteger(e.seq) || e.seq < 0) throw invalid('seq must be an integer >= 0');
  if (typeof e.prev !== 'string' || !HASH_HEX.test(e.prev)) throw invalid('prev must be 64 lowercase hex digits');
  if (e.seq === 0 && e.prev !== GENESIS_PREV) throw invalid('the first event (seq 0) must have prev = 64 zeros');
  if (e.time !== lastValidTime) {
    if (typeof e.time !== 'string' || !TIME.test(e.time) || Number.isNaN(Date.parse(e.time))) throw invalid('time must be an RFC 3339 UTC time such as 2025-01-02T03:04:05.678Z');
    lastValidTime = e.time;
  }
  text(e.actor, 'actor', 256);
  text(e.source, 'source', 256);
  if (typeof e.action !== 'string' || e.action.length > 128 || !ACTION.test(e.action)) throw invalid('action must be dotted lowercase words such as secret.put');
  if (e.path !== null) text(e.path, 'path', 512);
  id(e.versionId, 'versionId');
  id(e.runId, 'runId');
  id(e.correlationId, 'correlationId');
  if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(e.outcome)) throw invalid(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  if (e.errorCode !== null && (typeof e.errorCode !== 'string' || !ERROR_CODE.test(e.errorCode))) throw invalid('errorCode must be a KT_... code or null');
  if ((e.outcome === 'success' || e.outcome === 'intent') && e.errorCode !== null) throw invalid(`an event with outcome ${e.outcome} has no errorCode`);
  if (e.valueHmac !== null && (typeof e.valueHmac !== 'string' || !VALUE_HMAC.test(e.valueHmac))) throw invalid('valueHmac must be hmac-sha256:<key-id>:<base64>, or null');
  if (e.address !== undefined && (typeof e.address !== 'string' || !EVENT_ADDRESS.test(e.address))) throw invalid('address must be an IPv4 or IPv6 literal (absent when unknown, never null)');
  if (e.userAgent !== undefined) text(e.userAgent, 'userAgent', 256);
  if (e.fingerprint !== undefined) {
    if (typeof e.fingerprint !== 'string' || e.fingerprint.length === 0) throw invalid('fingerprint must be 1 to 128 characters of [A-Za-z0-9._:@/-] (absent when unknown, never null)');
    id(e.fingerprint, 'fingerprint');
  }
  if (e.location !== undefined) text(e.location, 'location', 1024);
  return e;
}

/** Printable ASCII: no control character and no lone surrogate (the common case, one pass). */
const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;

function text(v: unknown, name: string, max: number): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (!PRINTABLE_ASCII.test(v) && (CONTROL.test(v) || !isWellFormedText(v)))) {
    throw invalid(`${name} must be 1 to ${max} characters without control characters`);
  }
}

function id(v: unknown, name: string): void {
  if (v === null) return;
  if (typeof v !== 'string' || v.length > 128 || !ID.test(v)) throw invalid(`${name} must be up to 128 characters of [A-Za-z0-9._:@/-], or null`);
}

function invalid(message: string): KeyturnError {
  return new KeyturnError('KT_AUDIT_EVENT_INVALID', message);
}
