/** The embedded store passes the SecretStore contract on SQLite and on PostgreSQL. */
import { EmbeddedStore } from '../src/stores/embedded/embedded-store.js';
import { runStoreContract } from '../src/contracts/store-contract.js';
import { postgresState, sqliteState } from './helpers/state.js';

runStoreContract({
  name: 'embedded on SQLite',
  make: async ({ clock, options }) => {
    const t = await sqliteState(clock);
    return { store: new EmbeddedStore(t.state, t.ring, { clock, ...options }), close: t.close };
  },
});

runStoreContract({
  name: 'embedded on PostgreSQL',
  make: async ({ clock, options }) => {
    const t = await postgresState(clock);
    return { store: new EmbeddedStore(t.state, t.ring, { clock, ...options }), close: t.close };
  },
});
