/**
 * Certificate serial numbers: 128 random bits made positive (the top bit clear, so DER needs no
 * leading zero byte) and never starting with a zero byte (so the hex is always 32 digits, the same
 * as the certificate prints it), i.e. 126 bits of randomness (CA/B Forum asks for at least 64).
 *
 * @example
 * ```ts
 * randomSerial(); // '5c0d9a...' (32 lowercase hex digits)
 * ```
 */
import { randomBytes } from 'node:crypto';

export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}
