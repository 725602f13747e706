/**
 * @module
 * `xe vm-export vm=<name|uuid> filename= [metadata=true] [include-snapshots=true] [compress=true|zstd] [progress=]`
 * (also `template-export template-uuid=` and `snapshot-export-to-template snapshot-uuid=`,
 * with the same options but include-snapshots)
 * and `xe vm-import filename= [sr-uuid=] [preserve=true] [metadata=true] [progress=]`: a VM
 * to and from an XVA file over `GET /export` and `PUT /import`, under a task as xe does
 * (the task carries the server's verdict); vm-import prints the new VM's uuid. A progress
 * bar is drawn when stderr is a terminal, unless `progress=false`.
 */
import { open } from 'node:fs/promises';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { progressBar } from '../progress-bar.js';
import { forEachSelected, selectObjects } from '../select.js';
import { intoNewFile } from './export-file.js';
import { boolParam, refByUuid } from './storage-params.js';
import { trackedTransfer } from './tracked-transfer.js';
import { withoutOptimizer } from './without-optimizer.js';

const NOT_FILTERS = ['filename', 'metadata', 'compress', 'progress', 'preserve', 'sr-uuid', 'include-snapshots'];

interface ExportOptions {
  readonly compress: string;
  readonly metadata: boolean;
  readonly snapshots: boolean | undefined;
}

function exportOptions(ctx: CommandContext): ExportOptions {
  return {
    compress: getParam(ctx.params, 'compress') ?? 'false',
    metadata: boolParam(ctx.params, 'metadata', false),
    snapshots: getParam(ctx.params, 'include-snapshots') !== undefined ? boolParam(ctx.params, 'include-snapshots', false) : undefined,
  };
}

/** Exports one VM (or template, or snapshot) into a new file, under a task, with a bar on a terminal. */
async function exportOne(ctx: CommandContext, ref: string, filename: string, o: ExportOptions): Promise<void> {
  const showBar = process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true);
  const bar = progressBar('Exporting', process.stderr, showBar);
  try {
    await intoNewFile(filename, () => trackedTransfer(ctx, 'VM export', async (task) => {
      const query = {
        ref, task_id: task, use_compression: o.compress, ...(o.metadata ? { metadata: 'true' } : {}),
        ...(o.snapshots !== undefined ? { export_snapshots: String(o.snapshots) } : {}),
      };
      // The XVA's length is not known in advance: the bar, when drawn, follows the task's progress.
      let last = 0;
      const onBytes = showBar ? () => {
        const now = Date.now();
        if (now - last < 250) return;
        last = now;
        ctx.call('task.get_progress', task).then((p) => bar.update(Number(p) * 1000, 1000), () => undefined);
      } : undefined;
      // Socket reads (plain or TLS) land in the file's write buffers.
      await ctx.client.download('/export', query, filename, onBytes ? { onBytes } : {});
    }));
  } finally {
    bar.finish();
  }
}

export const vmExport: CommandModule = {
  run: async (ctx) => {
    const filename = getParam(ctx.params, 'filename')!;
    const o = exportOptions(ctx);
    const sel = await selectObjects(ctx, 'vm', { ignore: NOT_FILTERS, includeTemplates: true });
    await forEachSelected(ctx, sel, (row) => exportOne(ctx, String(row.ref), filename, o), false);
  },
};

/** `template-export template-uuid=` and `snapshot-export-to-template snapshot-uuid=`: one object of that kind. */
function exportKind(kind: 'template' | 'snapshot'): CommandModule {
  return {
    run: async (ctx) => {
      const uuid = getParam(ctx.params, `${kind}-uuid`)!;
      const ref = await refByUuid(ctx, 'VM', uuid);
      const is = await ctx.call(kind === 'template' ? 'VM.get_is_a_template' : 'VM.get_is_a_snapshot', ref);
      if (is !== true) throw new CliFailure(`This operation can only be performed on a VM ${kind}. ${uuid} is not a VM ${kind}.`);
      await exportOne(ctx, ref, getParam(ctx.params, 'filename')!, exportOptions(ctx));
    },
  };
}

export const templateExport = exportKind('template');
export const snapshotExport = exportKind('snapshot');

export const vmImport: CommandModule = {
  run: async (ctx) => {
    const filename = getParam(ctx.params, 'filename')!;
    ctx.client.prepareUpload();
    const srUuid = getParam(ctx.params, 'sr-uuid');
    const sr = srUuid ? await refByUuid(ctx, 'SR', srUuid) : undefined;
    const metadata = boolParam(ctx.params, 'metadata', false);
    try {
      await (await open(filename, 'r')).close();
    } catch {
      throw new CliFailure(`Failed to open file ${filename}`);
    }
    const bar = progressBar('Importing', process.stderr, process.stderr.isTTY === true && boolParam(ctx.params, 'progress', true));
    let vm: unknown;
    try {
      vm = await trackedTransfer(ctx, 'VM import', async (task) => {
        await withoutOptimizer(() => ctx.client.putFile(metadata ? '/import_metadata' : '/import', {
          task_id: task, ...(sr ? { sr_id: sr } : {}), ...(boolParam(ctx.params, 'preserve', false) ? { preserve: 'true' } : {}),
        }, { path: filename }, { onProgress: (n, t) => bar.update(n, t) }));
      });
    } finally {
      bar.finish();
    }
    ctx.printer.list([String(await ctx.call('VM.get_uuid', String(vm)))]);
  },
};
