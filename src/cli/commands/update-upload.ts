/**
 * @module
 * `xe patch-upload file-name=FILE` and `xe update-upload file-name=FILE [sr-uuid=SR]`: send an
 * update file (the `.xsupdate`, or the `.zip` it came in) to the master and print the new
 * object's uuid. The file goes to `/pool_patch_upload` under a task, as xe does; with
 * `sr-uuid=` (`update-upload` only) it goes the XenServer 7 way instead: into a new VDI of
 * that SR through `/import_raw_vdi`, then `pool_update.introduce` on it (the VDI is destroyed
 * again if the update is refused). On a terminal a progress bar shows on stderr while the
 * bytes go out; redirected output never gets one.
 */
import fs from 'node:fs';
import { basename } from 'node:path';
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { progressBar } from '../progress-bar.js';

const MiB = 1024 * 1024;

async function fileSize(file: string): Promise<number> {
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new RecordFailure(`Failed to open file ${file}`);
  return st.size;
}

/** PUTs `file` to `path` under a new task; resolves to the task's result. */
async function putTracked(ctx: CommandContext, path: string, query: Record<string, string>, file: string): Promise<string> {
  ctx.client.prepareUpload();
  const task = String(await ctx.call('task.create', 'uploadTask', file));
  const bar = progressBar('Uploading');
  try {
    await ctx.client.putFile(path, { ...query, task_id: task }, { path: file }, { onProgress: (n, t) => bar.update(n, t) });
    bar.finish();
    return String(await ctx.client.waitTask(task));
  } finally {
    await ctx.call('task.destroy', task).catch(() => undefined);
  }
}

/** Uploads `file` and returns the ref of the pool_patch the server made. */
export async function uploadUpdate(ctx: CommandContext, file: string): Promise<string> {
  await fileSize(file);
  return putTracked(ctx, '/pool_patch_upload', {}, file);
}

/** Puts `file` into a new VDI of `sr` and introduces it; returns the pool_update ref. */
export async function uploadUpdateToSr(ctx: CommandContext, file: string, srUuid: string): Promise<string> {
  const size = await fileSize(file);
  const sr = await ctx.call('SR.get_by_uuid', srUuid);
  const vdi = await ctx.client.callAsync('VDI.create', {
    name_label: basename(file), name_description: 'Update file (xe update-upload)', SR: sr,
    virtual_size: Math.max(1, Math.ceil(size / MiB)) * MiB, type: 'user', sharable: false, read_only: false,
    other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
  });
  try {
    await putTracked(ctx, '/import_raw_vdi', { vdi: String(vdi), format: 'raw' }, file);
    return String(await ctx.client.callAsync('pool_update.introduce', vdi));
  } catch (e) {
    await ctx.client.callAsync('VDI.destroy', vdi).catch(() => undefined);
    throw e;
  }
}

export function uploadCommand(kind: 'patch' | 'update'): CommandModule {
  return {
    run: async (ctx) => {
      const file = getParam(ctx.params, 'file-name')!;
      const sr = kind === 'update' ? getParam(ctx.params, 'sr-uuid') : undefined;
      let uuid: unknown;
      if (sr) {
        uuid = await ctx.call('pool_update.get_uuid', await uploadUpdateToSr(ctx, file, sr));
      } else {
        const ref = await uploadUpdate(ctx, file);
        uuid = kind === 'patch'
          ? await ctx.call('pool_patch.get_uuid', ref)
          : await ctx.call('pool_update.get_uuid', await ctx.call('pool_patch.get_pool_update', ref));
      }
      ctx.printer.list([String(uuid)]);
    },
  };
}
