/**
 * @module
 * `PUT /pool_patch_upload`: takes an update file (the `.xsupdate`, or the distribution
 * `.zip` holding one) on the master, verifies it against the pool's trusted keys and makes
 * its `pool_patch` and `pool_update` records. As in xapi, when a `task_id` is given the 200
 * headers go out at once and the outcome is reported through the task (its result is
 * `<value>OpaqueRef:…</value>`, its error `INVALID_PATCH`, `PATCH_ALREADY_EXISTS [uuid]`…);
 * without one, the reply waits for the outcome.
 *
 * Two client habits shape the body handling. Xen Orchestra's `xen-api` first sends an empty
 * probe PUT without `task_id`, to find out about redirects; it gets a plain 200 (a member
 * answers both with a redirect to the master). And when it does not know a stream's length
 * it claims 1 PiB and drops the connection after the last byte; so a claimed length beyond
 * the size cap means "unknown", and the body is whatever arrives before the connection ends,
 * still under the cap. The file is streamed to a private temporary name under
 * `<data-dir>/patch/` and kept, as `<uuid>.xsupdate`, only when everything checks out.
 */
import { mkdir, open, rm, statfs, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { ResourceHandler } from '../http-api.js';
import { discardBody, openUploadBody, UploadCutShort, UploadTooLarge } from '../upload-body.js';
import { DEFAULT_MAX_UPLOAD_BYTES, type UpdateStore } from '../../core/ports/updates.js';
import { authenticate, redirectToMaster, sendError, taskFor, type HandlerDeps } from './http-auth.js';

export interface UploadOptions extends HandlerDeps {
  readonly store: UpdateStore;
  /** Largest file accepted, in bytes (default 4 GiB, the package format's own bound). */
  readonly maxBytes?: number;
}

/** What Xen Orchestra claims when it does not know the length: 1 PiB. */
export const UNKNOWN_LENGTH_CLAIM = 1125899906842624;
const DEFAULT_MAX = DEFAULT_MAX_UPLOAD_BYTES;

function invalidPatchLog(log: string): ApiError {
  return new ApiError('INVALID_PATCH_WITH_LOG', [log]);
}

interface Received {
  readonly path: string;
  readonly size: number;
}

/**
 * Streams the body to `path`, read in large pieces (`upload-body.ts`), each written before
 * the next is read (the reader keeps receiving meanwhile); the body ends with the request,
 * or with the connection when its length is unknown, and everything that arrived before
 * the connection closed is kept. Over the size cap, or cut short of a declared length,
 * the file is removed and the upload refused.
 */
async function receive(req: IncomingMessage, path: string, declared: number | undefined, max: number, progress: (f: number) => void): Promise<Received> {
  const known = declared !== undefined && declared <= max;
  const body = openUploadBody(req, { maxBytes: max, openEndedFrom: max + 1 });
  let fh: FileHandle | undefined;
  let size = 0;
  try {
    fh = await open(path, 'wx', 0o600);
    for (let piece = await body.read(); piece; piece = await body.read()) {
      for (let at = 0; at < piece.length;) at += (await fh.write(piece, at, piece.length - at)).bytesWritten;
      size += piece.length;
      if (known && declared) progress((0.9 * size) / declared);
    }
    await fh.close();
    fh = undefined;
    return { path, size };
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(path, { force: true });
    if (e instanceof UploadTooLarge) {
      req.destroy();
      throw invalidPatchLog(`the file is larger than the ${max}-byte upload limit`);
    }
    if (e instanceof UploadCutShort) throw invalidPatchLog(`the upload ended after ${e.received} of ${declared} bytes`);
    if (e instanceof ApiError) throw e;
    throw new ApiError('INTERNAL_ERROR', [`writing the upload: ${(e as Error).message}`]);
  }
}

export function createPatchUploadHandler(o: UploadOptions): ResourceHandler {
  const max = o.maxBytes ?? DEFAULT_MAX;
  const log = o.log ?? (() => {});
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    if (redirectToMaster(o, req, res)) return;
    const lengthHeader = req.headers['content-length'];
    const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
    const task = taskFor(o, query);
    // The probe: nothing to store and nothing to report. Xen Orchestra sends it with the same
    // headers as the real upload, so it may claim the unknown length while sending nothing;
    // an upload of unknown length therefore needs a task_id.
    const empty = declared === 0 || declared === UNKNOWN_LENGTH_CLAIM || (declared === undefined && !req.headers['transfer-encoding']);
    if (!task && empty) {
      try {
        (await authenticate(o, req, query, 'pool-operator')).done();
      } catch (e) {
        req.resume();
        sendError(res, toWireError(e));
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-length': 0, connection: 'close' });
      res.end();
      return;
    }
    let auth;
    try {
      auth = await authenticate(o, req, query, 'pool-operator');
      if (declared !== undefined && declared > max && declared !== UNKNOWN_LENGTH_CLAIM) {
        throw invalidPatchLog(`the file is larger than the ${max}-byte upload limit`);
      }
      if (declared !== undefined && declared <= max) {
        await mkdir(o.store.incomingDir, { recursive: true });
        const fs = await statfs(o.store.incomingDir);
        if (declared > fs.bavail * fs.bsize) throw new ApiError('OUT_OF_SPACE', [o.store.incomingDir]);
      }
    } catch (e) {
      const err = toWireError(e);
      if (task) o.tasks.fail(task.ref, err);
      req.resume();
      sendError(res, err);
      return;
    }
    const tmp = join(o.store.incomingDir, `.upload-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(o.store.incomingDir, { recursive: true });
      // Listening before answering: a client that drops the connection as soon as it has the
      // answer and has sent its last byte must not find nobody reading.
      const receiving = receive(req, tmp, declared, max, (f) => task?.handle.setProgress(f));
      // xapi answers before reading the body; Xen Orchestra's length-less uploads depend on it.
      if (task) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
      }
      const got = await receiving;
      const ref = await o.store.accept(got.path, got.size);
      if (task) {
        o.tasks.succeed(task.ref, `<value>${ref}</value>`);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(ref) });
        res.end(ref);
      }
    } catch (e) {
      const err = toWireError(e);
      const cause = (e as { cause?: unknown }).cause;
      log(`pool_patch_upload refused: ${err.message}${cause ? ` (${String(cause)})` : ''}`);
      if (err.code === 'INTERNAL_ERROR') log(String(e instanceof Error ? e.stack : e));
      if (task) o.tasks.fail(task.ref, err);
      if (!req.complete) discardBody(req);
      sendError(res, err);
    } finally {
      auth.done();
    }
  };
}
