/**
 * No lockout under kill -9, ssh target (the test process's own sshd, test/helpers/sshd.ts; root
 * with a key as the admin): every step boundary and seeded random moments of a real
 * `keyturn rotate` process, single-user and dual-key (after each recovery, every key line of the
 * account's authorized_keys is the public key of a private key the store holds). What is covered,
 * the knobs (KEYTURN_CRASH_SEED, KEYTURN_CRASH_RANDOM) and the full sweep: test/helpers/crash-suite.ts.
 */
import { crashSuite } from './helpers/crash-suite.js';

crashSuite('ssh', ['single-user', 'dual-key']);
