/**
 * @module
 * Builds the environment the update logic runs in from a host's services: its database,
 * pool link and data directory, its own disk operations (with a fetcher from the master when
 * it is a member), and internal sessions for members to fetch files with.
 */
import type { Services } from '../core/action-context.js';
import type { Ref } from '../core/ref.js';
import type { HostOpsEnv } from './host-ops.js';
import { masterFetcher } from './master-fetch.js';
import type { UpdateEnv } from './patch-service.js';

/** The pool layer's own file transfer (pool secret, no session), when it offers one. */
interface FetchingLink {
  fetchFromMaster(path: string, dest: string): Promise<void>;
}

function fetcher(s: Services): HostOpsEnv['fetch'] {
  const pool = s.pool;
  if (!pool || pool.isMaster()) return undefined;
  if (typeof (pool as Partial<FetchingLink>).fetchFromMaster === 'function') {
    return (uuid, _session, dest) => (pool as unknown as FetchingLink).fetchFromMaster(`patch/${uuid}.xsupdate`, dest);
  }
  return masterFetcher(pool);
}

export function hostOpsEnv(s: Services): HostOpsEnv {
  const fetch = fetcher(s);
  return {
    dataDir: s.dataDir,
    hostUuid: String(s.db.get('host', s.hostRef)?.uuid ?? ''),
    ...(fetch ? { fetch } : {}),
    ...(s.updates ? { hookTimeoutMs: s.updates.hookTimeoutMs } : {}),
  };
}

export function updateEnv(s: Services): UpdateEnv {
  const u = s.updates;
  return {
    db: s.db,
    hostRef: s.hostRef,
    ...(s.pool ? { pool: s.pool } : {}),
    local: hostOpsEnv(s),
    ...(u ? { fetchSession: () => u.internalSession(), log: (m: string) => u.log(m) } : {}),
  };
}
