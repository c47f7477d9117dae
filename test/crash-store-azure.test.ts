/** kill -9 at every step boundary of a PostgreSQL rotation whose primary store is the azure store (its local server, signed in to through workload identity): no lockout. */
import { crashSuiteOnStore } from './helpers/crash-suite.js';

crashSuiteOnStore('azure');
