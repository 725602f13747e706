/**
 * @module
 * `GET /blob?ref=` and `PUT /blob?ref=`: a blob's data, as xapi serves it (the blob may be
 * named by `uuid=` instead). GET answers with the data and the record's mime type; a public
 * blob needs no session, as in xapi, a private one any session. PUT replaces the data
 * (the body, at most the store's limit: larger is refused with 413 and nothing changes),
 * then sets the record's `size` and `last_updated`; it needs vm-power-admin, xapi's role
 * for it. An unknown blob is a 404 (xapi's answer), a request naming none a 400. The data
 * lives on the master: a member redirects there. With `task_id`, the outcome is also
 * reported through that task (xe's transfers read it there).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../../core/api-error.js';
import { BlobTooLarge, type BlobStore } from '../../core/ports/blob-store.js';
import { isRef, xapiDate, type Ref } from '../../core/ref.js';
import { toWireError } from '../../core/wire-errors.js';
import type { ResourceHandler } from '../http-api.js';
import { discardBody, openUploadBody, UploadCutShort, UploadTooLarge } from '../upload-body.js';
import { authenticate, redirectToMaster, refuseWhileReceiving, sendError, taskFor, type Authed, type HandlerDeps } from './http-auth.js';

export interface BlobHandlerOptions extends HandlerDeps {
  readonly store: BlobStore;
  readonly now?: () => Date;
}

/** xapi's status for a blob it does not know. */
const UNKNOWN_BLOB_STATUS = 404;

/** The blob a query names by `ref=` or `uuid=`. */
function blobOf(o: BlobHandlerOptions, query: URLSearchParams): { ref: Ref<'blob'>; uuid: string } {
  const ref = query.get('ref');
  const uuid = query.get('uuid');
  if (ref) {
    const row = isRef(ref) ? o.db.get('blob', ref) : undefined;
    if (!row) throw new ApiError('HANDLE_INVALID', ['blob', ref]);
    return { ref: ref as Ref<'blob'>, uuid: String(row.uuid) };
  }
  if (uuid) {
    const found = o.db.refByUuid('blob', uuid);
    if (!found) throw new ApiError('UUID_INVALID', ['blob', uuid]);
    return { ref: found, uuid: String(o.db.get('blob', found)!.uuid) };
  }
  throw new ApiError('INVALID_VALUE', ['ref', '']);
}

function statusOf(e: ApiError): number | undefined {
  return e.code === 'HANDLE_INVALID' || e.code === 'UUID_INVALID' ? UNKNOWN_BLOB_STATUS : undefined;
}

/** The error a failed write is answered with: the client's fault, or the disk's. */
function writeError(e: unknown, dir: string): ApiError {
  if (e instanceof UploadTooLarge || e instanceof BlobTooLarge) return new ApiError('REQUEST_ENTITY_TOO_LARGE');
  if (e instanceof UploadCutShort) return new ApiError('INVALID_VALUE', ['body', e.message]);
  if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return new ApiError('OUT_OF_SPACE', [dir]);
  return toWireError(e);
}

export function createBlobGetHandler(o: BlobHandlerOptions): ResourceHandler {
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    req.resume();
    const task = taskFor(o, query);
    let auth: Authed | undefined;
    let stored;
    let mimeType: string;
    try {
      const blob = blobOf(o, query);
      if (o.db.get('blob', blob.ref)?.public !== true) auth = await authenticate(o, req, query, 'read-only');
      stored = await o.store.open(blob.uuid);
      mimeType = String(o.db.get('blob', blob.ref)?.mime_type || 'application/octet-stream');
    } catch (e) {
      const err = toWireError(e);
      if (task) o.tasks.fail(task.ref, err);
      sendError(res, err, statusOf(err));
      return;
    } finally {
      auth?.done();
    }
    if (!stored) {
      // A blob never written has no data file, and xapi answers that as it answers a file
      // it cannot find: 404, no body.
      res.writeHead(UNKNOWN_BLOB_STATUS, { 'content-length': 0 });
      res.end();
      if (task) o.tasks.fail(task.ref, new ApiError('INVALID_VALUE', ['blob', 'the blob holds no data yet']));
      return;
    }
    res.writeHead(200, { 'content-type': mimeType, 'content-length': stored.size });
    try {
      await pipeline(stored.stream, res);
      if (task) o.tasks.succeed(task.ref, '');
    } catch (e) {
      stored.stream.destroy();
      res.destroy();
      if (task) o.tasks.fail(task.ref, new ApiError('INVALID_VALUE', ['connection', `the blob was not sent whole: ${(e as Error).message}`]));
    }
  };
}

export function createBlobPutHandler(o: BlobHandlerOptions): ResourceHandler {
  const now = o.now ?? (() => new Date());
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    const task = taskFor(o, query);
    const refuse = (e: unknown) => {
      const err = writeError(e, o.dataDir);
      if (err.code === 'INTERNAL_ERROR') o.log?.(`PUT /blob: ${e instanceof Error ? e.stack : String(e)}`);
      if (task) o.tasks.fail(task.ref, err);
      // At once, the rest of the body read and dropped, so that the client reads the answer.
      refuseWhileReceiving(req, res, err, () => discardBody(req), statusOf(err));
    };
    let auth: Authed | undefined;
    try {
      auth = await authenticate(o, req, query, 'vm-power-admin');
      const blob = blobOf(o, query);
      const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
      if (declared !== undefined && declared > o.store.maxBytes) throw new BlobTooLarge(o.store.maxBytes);
      const body = openUploadBody(req, { maxBytes: o.store.maxBytes });
      let recorded = false;
      await o.store.write(blob.uuid, body, (size) => {
        // Destroyed while the data came in: nothing to record, and the data must go.
        if (!o.db.get('blob', blob.ref)) return;
        o.db.update('blob', blob.ref, { size, last_updated: xapiDate(now()) });
        recorded = true;
      });
      if (!recorded) {
        await o.store.remove(blob.uuid);
        throw new ApiError('HANDLE_INVALID', ['blob', blob.ref]);
      }
      if (task) o.tasks.succeed(task.ref, '');
      res.writeHead(200, { 'content-length': 0, 'access-control-allow-origin': '*' });
      res.end();
    } catch (e) {
      refuse(e);
    } finally {
      auth?.done();
    }
  };
}
