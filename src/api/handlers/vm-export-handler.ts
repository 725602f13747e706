/**
 * @module
 * `GET /export?uuid=|ref=&session_id=&task_id=&use_compression=false|true|zstd&export_snapshots=&metadata=&checksum=xxhash|sha1`:
 * a VM as an XVA, streamed as it is produced (xapi's handler; Xen Orchestra and XenCenter
 * call it for exports and full backups). Chunks carry `.xxhash` members as newer XenServer
 * writes; `checksum=sha1` writes `.checksum` (SHA-1) members for importers that predate it.
 * `export_snapshots=true` adds the VM's snapshots (records, drives and each snapshot disk in
 * full); a metadata export carries the snapshot records by default, as xapi's does. `true` compresses with gzip, `zstd` with the
 * `zstd` tool; the reply has no length, as xapi's has none. `/export_metadata` is the same
 * with `metadata=true`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { exportXva, type XvaPart } from '../../actions/vm/xva/xva-export.js';
import { ApiError } from '../../core/api-error.js';
import { isRef, type Ref } from '../../core/ref.js';
import type { ResourceHandler } from '../http-api.js';
import { runTransfer, type TransferDeps } from './vdi-transfer.js';

/** Bytes queued on the way to the client before the producer waits for it. */
const QUEUED = 12 * 1024 * 1024;

function vmFromQuery(d: TransferDeps, query: URLSearchParams): Ref<'VM'> {
  const v = query.get('ref') ?? query.get('uuid');
  if (!v) throw new ApiError('INTERNAL_ERROR', ['No VM given (uuid= or ref=)']);
  const ref = (isRef(v) ? v : d.db.refByUuid('VM', v)) as Ref<'VM'> | undefined;
  if (!ref || !d.db.get('VM', ref)) throw isRef(v) ? new ApiError('HANDLE_INVALID', ['VM', v]) : new ApiError('UUID_INVALID', ['VM', v]);
  return ref;
}

/** A `zstd` process as a transform stream. */
function zstdCompressor(): Transform {
  const child = spawn('zstd', ['-q', '-c', '-1', '-T0'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const t = new Transform({
    transform(chunk, _enc, cb) {
      // Called back only once the pipe has written the chunk: the caller reuses its buffer.
      child.stdin.write(chunk, (e) => cb(e ?? null));
    },
    flush(cb) {
      child.stdout.once('end', () => cb());
      child.stdin.end();
    },
  });
  child.stdout.on('data', (b: Buffer) => { if (!t.push(b)) child.stdout.pause(); });
  t.on('drain', () => child.stdout.resume());
  t._read = () => child.stdout.resume();
  child.on('error', (e) => t.destroy(e));
  t.on('close', () => { if (child.exitCode === null) child.kill(); });
  return t;
}

export function createVmExportHandler(d: TransferDeps, opts: { metadataOnly?: boolean } = {}): ResourceHandler {
  return (req, res, query) => runTransfer(d, req, res, query, 'vm-admin', 'VM export', async ({ ctx, task }) => {
    req.resume();
    const compression = (query.get('use_compression') ?? 'false').toLowerCase();
    if (!['false', 'true', 'gzip', 'zstd', ''].includes(compression)) throw new ApiError('INVALID_VALUE', ['use_compression', compression]);
    const checksum = (query.get('checksum') ?? 'xxhash').toLowerCase();
    if (checksum !== 'xxhash' && checksum !== 'sha1') throw new ApiError('INVALID_VALUE', ['checksum', checksum]);
    const vm = vmFromQuery(d, query);
    const metadataOnly = opts.metadataOnly === true || query.get('metadata') === 'true';
    const ac = new AbortController();
    const signal = AbortSignal.any([ac.signal, task.signal]);
    // As xapi: a metadata export carries the snapshots unless told not to; a full export
    // carries them only when asked (an Islet addition: xapi's full export never does).
    const snaps = (query.get('export_snapshots') ?? (metadataOnly ? 'true' : 'false')).toLowerCase();
    if (snaps !== 'true' && snaps !== 'false') throw new ApiError('INVALID_VALUE', ['export_snapshots', snaps]);
    const gen = exportXva(ctx, vm, { metadataOnly, signal, checksum, includeSnapshots: snaps === 'true', progress: (f) => task.setProgress(f) });
    // Errors found before any byte (no such VM, a running VM) are answered as errors.
    const first = await gen.next();
    const name = String(d.db.get('VM', vm)?.name_label ?? 'vm').replace(/[^\w.-]+/g, '_');
    // As xapi: no length and no chunked coding, the end of the connection ends the archive
    // (framing 1 MiB pieces costs both sides CPU; the tar's end blocks and the task say
    // whether all of it came).
    res.removeHeader('transfer-encoding');
    res.writeHead(200, {
      connection: 'close',
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${name}.xva${compression === 'zstd' ? '.zst' : compression === 'true' || compression === 'gzip' ? '.gz' : ''}"`,
      'task-id': task.ref,
    });
    res.once('close', () => ac.abort());
    const stages: (Transform | NodeJS.ReadWriteStream)[] = compression === 'zstd' ? [zstdCompressor()]
      : compression === 'true' || compression === 'gzip' ? [createGzip({ level: 1 })] : [];
    const dest = (stages[0] ?? res) as Writable;
    const piping = stages.length ? pipeline([...stages, res] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]) : undefined;
    piping?.catch(() => undefined);
    const stopped = new Promise<void>((resolve) => {
      dest.once('close', resolve);
      dest.once('error', () => resolve());
    });
    // A cancel does not wait for a client that stopped reading: the connection is cut.
    const cancelled = new Promise<void>((resolve) => {
      if (task.signal.aborted) resolve();
      else task.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    // Parts are written without waiting for each: the wait comes only once QUEUED bytes are
    // queued, and each read buffer is given back when the stream is done with it.
    const send = async (part: XvaPart) => {
      if (dest.destroyed) throw new ApiError('INTERNAL_ERROR', ['the client closed the connection']);
      dest.write(part.data, part.done ? () => part.done!() : undefined);
      if (dest.writableLength >= QUEUED) await Promise.race([once(dest, 'drain'), stopped, cancelled]);
      task.signal.throwIfAborted();
    };
    if (!first.done) await send(first.value);
    for await (const part of gen) await send(part);
    dest.end();
    if (piping) await Promise.race([piping, cancelled]);
    else if (!res.writableFinished) await Promise.race([once(res, 'finish'), stopped, cancelled]);
    task.signal.throwIfAborted();
    if (!res.writableFinished) throw new ApiError('INTERNAL_ERROR', ['the client closed the connection']);
    return '';
  });
}
