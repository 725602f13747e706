import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { runPoolDbContract } from './pool-db.contract.js';

runPoolDbContract('MemoryPoolDb', (classes, opts) => new MemoryPoolDb(classes, opts));
