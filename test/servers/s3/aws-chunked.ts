/**
 * Decoding of the `aws-chunked` content encoding the AWS SDKs use for a streamed body whose
 * checksum goes in a trailer (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
 * `x-amz-trailer: x-amz-checksum-sha256`): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` …
 * `0\r\n`, then the trailer lines `name:value\r\n` and an empty line. Chunk signatures (the signed
 * `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` form) are parsed but not checked (README.md).
 *
 * @example
 * ```ts
 * const { body, trailers } = decodeAwsChunked(raw); // trailers['x-amz-checksum-sha256'] === 'base64…'
 * ```
 */

export interface DecodedChunked {
  readonly body: Buffer;
  /** Trailer headers, names lower-cased. */
  readonly trailers: Record<string, string>;
}

/** Decodes the body; throws an Error (the server answers 400 IncompleteBody) when it is malformed. */
export function decodeAwsChunked(raw: Buffer): DecodedChunked {
  const parts: Buffer[] = [];
  let at = 0;
  const line = (): string => {
    const end = raw.indexOf('\r\n', at);
    if (end < 0) throw new Error('aws-chunked: a line has no CRLF');
    const text = raw.subarray(at, end).toString('latin1');
    at = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const size = Number.parseInt(header.split(';')[0] ?? '', 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`aws-chunked: bad chunk size line "${header.slice(0, 40)}"`);
    if (size === 0) break;
    if (at + size + 2 > raw.length) throw new Error('aws-chunked: a chunk is cut short');
    parts.push(raw.subarray(at, at + size));
    at += size;
    if (raw.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('aws-chunked: a chunk does not end with CRLF');
    at += 2;
  }
  const trailers: Record<string, string> = {};
  while (at < raw.length) {
    const text = line();
    if (text === '') break;
    const colon = text.indexOf(':');
    if (colon < 0) throw new Error('aws-chunked: a trailer line has no colon');
    trailers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}
