/**
 * @module
 * `GET /pool_patch_download?uuid=`: the master's copy of an uploaded update, which members
 * fetch before they precheck or apply it (as xapi's members do). The member verifies what it
 * receives against the pool's keys, so this only needs to be authenticated, not trusted.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { ResourceHandler } from '../http-api.js';
import { authenticate, redirectToMaster, sendError, type HandlerDeps } from './http-auth.js';
import type { UpdateStore } from '../../core/ports/updates.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createPatchDownloadHandler(o: HandlerDeps & { readonly store: UpdateStore }): ResourceHandler {
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    req.resume();
    let auth;
    let size: number;
    const uuid = query.get('uuid') ?? '';
    try {
      auth = await authenticate(o, req, query, 'pool-operator');
      auth.done();
      if (!UUID_RE.test(uuid)) throw new ApiError('UUID_INVALID', ['pool_patch', uuid]);
      const st = await stat(o.store.storedPath(uuid)).catch(() => undefined);
      if (!st?.isFile()) throw new ApiError('CANNOT_FIND_PATCH');
      size = st.size;
    } catch (e) {
      sendError(res, toWireError(e));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    await pipeline(createReadStream(o.store.storedPath(uuid)), res).catch(() => res.destroy());
  };
}
