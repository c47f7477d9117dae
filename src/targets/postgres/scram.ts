/**
 * SCRAM-SHA-256 password verifiers, computed here so `ALTER ROLE ... PASSWORD` carries the
 * verifier and never the password: the plain value then cannot land in the server's statement
 * log or pg_stat_activity. Same format and defaults as PostgreSQL's own (RFC 7677, 4096
 * iterations, 16-byte salt), which every PostgreSQL >= 10 accepts for scram-sha-256 and md5 logins.
 *
 * PostgreSQL runs SASLprep over the password when it hashes one itself. SASLprep leaves printable
 * ASCII unchanged, so the verifier is computed here only for such passwords; any other password
 * is sent as a literal for the server to hash (`passwordSql`).
 *
 * @example
 * ```ts
 * await client.query(`ALTER ROLE ${client.escapeIdentifier('app')} PASSWORD ${await passwordSql(client, next.password)}`);
 * ```
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type pg from 'pg';

const ITERATIONS = 4096;
const pbkdf2Async = promisify(pbkdf2);

/**
 * The verifier PostgreSQL stores in pg_authid.rolpassword for `password`. PBKDF2 runs on libuv's
 * thread pool: 4096 rounds take milliseconds, which must not block the event loop of a process
 * rotating many secrets at once.
 */
export async function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = ITERATIONS): Promise<string> {
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The SQL literal to put after `PASSWORD`: the SCRAM verifier for printable ASCII, else the escaped password. */
export async function passwordSql(client: Pick<pg.Client, 'escapeLiteral'>, password: string): Promise<string> {
  return client.escapeLiteral(/^[\x20-\x7e]+$/.test(password) ? await scramVerifier(password) : password);
}
