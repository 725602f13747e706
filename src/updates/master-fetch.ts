/**
 * @module
 * How a member copies an update file from the master: `GET /pool_patch_download` on the
 * master's address (as the pool link reports it), with a session the master handed over in
 * the job. TLS is used but the master's self-signed certificate is not pinned here; the file
 * is verified against the pool's keys afterwards, which is what makes it trustworthy.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { XapiClient, masterUrl } from '../client/xapi-client.js';
import type { PoolLink } from '../core/ports/pool-link.js';

export function masterFetcher(pool: PoolLink): (uuid: string, session: string, dest: string) => Promise<void> {
  return async (uuid, session, dest) => {
    const base = masterUrl(new URL('https://127.0.0.1'), pool.masterAddress());
    const client = new XapiClient({ url: base });
    try {
      client.useSession(session);
      const body = await client.getFile('/pool_patch_download', { uuid });
      await pipeline(body, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
    } finally {
      client.close();
    }
  };
}
