/**
 * @module
 * `GET /pool/xmldbdump` and `PUT /pool/xmldbdump?restore=true`, what xapi's
 * `xe pool-dump-database` and `pool-restore-database` use: the whole pool database as one
 * document (Islet's is JSON, from `PoolDb.dumpJson`, not xapi's XML), read from and written
 * to the master. A restore with `dry_run=true` only checks the document. A real one replaces
 * every persisted object and the pool-wide settings in one transaction; each host's applied
 * update markers then win over what the restored records say (see `afterRestore`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { ResourceHandler } from '../http-api.js';
import { discardBody, openUploadBody, UploadCutShort, UploadTooLarge } from '../upload-body.js';
import { authenticate, redirectToMaster, sendError, type HandlerDeps } from './http-auth.js';

export interface DbBackupOptions extends HandlerDeps {
  readonly maxBytes?: number;
  /** Runs after a restore (resynchronise update records, refresh derived state). */
  readonly afterRestore?: () => Promise<void>;
}

async function readAll(req: IncomingMessage, max: number): Promise<string> {
  const body = openUploadBody(req, { maxBytes: max });
  const chunks: Buffer[] = [];
  try {
    // Each piece is copied: the reader reuses its buffer for the next one.
    for (let piece = await body.read(); piece; piece = await body.read()) chunks.push(Buffer.from(piece));
  } catch (e) {
    if (e instanceof UploadTooLarge) throw new ApiError('REQUEST_ENTITY_TOO_LARGE');
    if (e instanceof UploadCutShort) throw new ApiError('COULD_NOT_IMPORT_DATABASE', [e.message]);
    throw e;
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createDbDumpHandler(o: DbBackupOptions): ResourceHandler {
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    req.resume();
    try {
      (await authenticate(o, req, query, 'pool-admin')).done();
    } catch (e) {
      sendError(res, toWireError(e));
      return;
    }
    const body = o.db.dumpJson();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

export function createDbRestoreHandler(o: DbBackupOptions): ResourceHandler {
  const max = o.maxBytes ?? 1024 * 1024 * 1024;
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    let auth;
    try {
      auth = await authenticate(o, req, query, 'pool-admin');
    } catch (e) {
      req.resume();
      sendError(res, toWireError(e));
      return;
    }
    try {
      if (query.get('restore') !== 'true') throw new ApiError('INVALID_VALUE', ['restore', query.get('restore') ?? '']);
      const text = await readAll(req, max);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new ApiError('COULD_NOT_IMPORT_DATABASE', [`not a database dump: ${(e as Error).message}`]);
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ApiError('COULD_NOT_IMPORT_DATABASE', ['not a database dump']);
      if (query.get('dry_run') !== 'true') {
        try {
          o.db.restoreJson(text);
        } catch (e) {
          throw new ApiError('COULD_NOT_IMPORT_DATABASE', [(e as Error).message]);
        }
        o.log?.('pool database restored from a dump');
        await o.afterRestore?.();
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0 });
      res.end();
    } catch (e) {
      discardBody(req);
      sendError(res, toWireError(e));
    } finally {
      auth.done();
    }
  };
}
