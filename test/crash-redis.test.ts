/**
 * No lockout under kill -9, redis target: every step boundary and seeded random moments of a real
 * `keyturn rotate` process, single-user and alternating-users. What is covered, the knobs
 * (KEYTURN_CRASH_SEED, KEYTURN_CRASH_RANDOM) and the full sweep: test/helpers/crash-suite.ts.
 */
import { crashSuite } from './helpers/crash-suite.js';

// dual-key too: Redis keeps several passwords per user, so a rotation adds one and a failed run takes it back.
crashSuite('redis', ['single-user', 'alternating-users', 'dual-key']);
