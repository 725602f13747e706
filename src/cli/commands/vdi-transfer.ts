/**
 * @module
 * `xe vdi-import uuid= filename= [format=raw|vhd] [progress=]` and
 * `xe vdi-export uuid= filename= [format=raw|vhd] [base=] [progress=]`: move a disk image
 * between a local file and a VDI over HTTP. An export is tracked by a task as xe does (the
 * task carries the server's verdict); an import is one request, which needs no session. An
 * export with `base` (a VDI's uuid) holds only what differs from that VDI. Exported files
 * are new files (export-file.ts), written sparsely: runs of zeroes become holes. A progress
 * bar is drawn when stderr is a terminal, unless `progress=false`.
 */
import { closeSync, openSync } from 'node:fs';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { progressBar } from '../progress-bar.js';
import { intoNewFile } from './export-file.js';
import { boolParam, refByUuid } from './storage-params.js';
import { trackedTransfer } from './tracked-transfer.js';
import { withoutOptimizer } from './without-optimizer.js';

function exportQuery(ctx: CommandContext, vdi: string, task: string): Record<string, string> {
  const format = getParam(ctx.params, 'format');
  const base = getParam(ctx.params, 'base');
  return { vdi, task_id: task, ...(format ? { format } : {}), ...(base ? { base } : {}) };
}

export const vdiImport: CommandModule = {
  // One request and no session (the `credentials` flag): the PUT names the disk by uuid and
  // carries the user's name and password, and the server runs it under a task of its own,
  // whose failure it answers with. Logging in, looking the disk up and making a task first
  // cost a cold xe three round trips and a second TLS handshake before the first byte.
  run: async (ctx) => {
    const filename = getParam(ctx.params, 'filename')!;
    const format = getParam(ctx.params, 'format');
    // Synchronously: node:fs/promises (with the readline and watcher modules it brings) is
    // otherwise never loaded by an import.
    try {
      closeSync(openSync(filename, 'r'));
    } catch {
      throw new CliFailure(`Failed to open file ${filename}`);
    }
    const bar = progressBar('Importing', process.stderr, process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true));
    try {
      await withoutOptimizer(() => ctx.client.putFile('/import_raw_vdi', { vdi: getParam(ctx.params, 'uuid')!, ...(format ? { format } : {}) }, { path: filename }, {
        credentials: { username: ctx.conn.username, password: ctx.conn.password },
        onProgress: (n, t) => bar.update(n, t),
      }));
    } finally {
      bar.finish();
    }
  },
};

export const vdiExport: CommandModule = {
  run: async (ctx) => {
    const vdi = await refByUuid(ctx, 'VDI', getParam(ctx.params, 'uuid')!);
    const filename = getParam(ctx.params, 'filename')!;
    const bar = progressBar('Exporting', process.stderr, process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true));
    try {
      await intoNewFile(filename, () => trackedTransfer(ctx, 'VDI export', async (task) => {
        // The socket is read straight into the file's write buffers (a short body fails there).
        await ctx.client.download('/export_raw_vdi', exportQuery(ctx, vdi, task), filename, { sparse: true, onBytes: (n, total) => bar.update(n, total) });
      }));
    } finally {
      bar.finish();
    }
  },
};
