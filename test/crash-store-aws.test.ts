/** kill -9 at every step boundary of a PostgreSQL rotation whose primary store is the aws store (its local server): no lockout. */
import { crashSuiteOnStore } from './helpers/crash-suite.js';

crashSuiteOnStore('aws');
