/**
 * @module
 * `GET /islet_pool_file?path=…`: lets another host of the pool read a file under this
 * host's data directory (an uploaded update, say), authenticated with the calling host's
 * uuid and pool credential in headers rather than a session. Paths that would leave the
 * data directory are refused.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResourceHandler } from '../http-api.js';
import { HOST_CREDENTIAL_HEADER, HOST_UUID_HEADER } from '../../core/ports/pool-link.js';

export function poolFileResource(dataDir: string, verify: (hostUuid: string, token: string) => boolean): ResourceHandler {
  return async (req, res, query) => {
    req.resume();
    const uuid = req.headers[HOST_UUID_HEADER];
    const token = req.headers[HOST_CREDENTIAL_HEADER];
    if (typeof uuid !== 'string' || typeof token !== 'string' || !verify(uuid, token)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden\n');
      return;
    }
    const rel = normalize(query.get('path') ?? '');
    if (!rel || rel === '.' || isAbsolute(rel) || rel.split(sep).includes('..')) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad path\n');
      return;
    }
    const file = join(dataDir, rel);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
    await pipeline(createReadStream(file), res);
  };
}
