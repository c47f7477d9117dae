/**
 * No lockout under kill -9, kerberos target (the test process's own MIT KDC and kadmind,
 * test/helpers/kdc.ts): every step boundary and seeded random moments of a real `keyturn rotate`
 * process, single-user and dual-key (after each recovery, every kvno the principal holds derives
 * from a password the store holds). What is covered, the knobs (KEYTURN_CRASH_SEED,
 * KEYTURN_CRASH_RANDOM) and the full sweep: test/helpers/crash-suite.ts.
 */
import { crashSuite } from './helpers/crash-suite.js';

crashSuite('kerberos', ['single-user', 'dual-key']);
