/**
 * The updates storage contract run by the store the master's upload handler uses
 * (`src/updates/update-store.ts`) over a real SQLite pool database and a real data directory.
 */
import { sqliteUpdateStore } from './sqlite-update-store.js';
import { runUpdateStoreContract } from './update-store.contract.js';

runUpdateStoreContract('update store over SQLite', sqliteUpdateStore);
