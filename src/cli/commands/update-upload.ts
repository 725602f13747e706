/**
 * @module
 * `xe patch-upload file-name=FILE` and `xe update-upload file-name=FILE`: send an update
 * file (the `.xsupdate`, or the `.zip` it came in) to the master's `/pool_patch_upload`
 * under a task, as xe does, and print the new object's uuid. On a terminal a progress bar
 * shows on stderr while the bytes go out.
 */
import fs from 'node:fs';
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';

/** `[#####     ]  42%` redrawn in place, only where someone watches. */
export function progressBar(out: NodeJS.WriteStream = process.stderr): ((sent: number, total: number | undefined) => void) & { done(): void } {
  let last = -1;
  const draw = (sent: number, total: number | undefined) => {
    if (!out.isTTY || !total) return;
    const pct = Math.floor((100 * sent) / total);
    if (pct === last) return;
    last = pct;
    const width = 40;
    const fill = Math.round((width * pct) / 100);
    out.write(`\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(pct).padStart(3)}%`);
  };
  return Object.assign(draw, { done: () => { if (out.isTTY && last >= 0) out.write('\n'); } });
}

/** Uploads `file` and returns the ref of the pool_patch the server made. */
export async function uploadUpdate(ctx: CommandContext, file: string): Promise<string> {
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new RecordFailure(`Failed to open file ${file}`);
  const task = String(await ctx.call('task.create', 'uploadTask', file));
  const bar = progressBar();
  try {
    await ctx.client.putFile('/pool_patch_upload', { task_id: task }, { path: file }, { onProgress: bar });
    bar.done();
    return String(await ctx.client.waitTask(task));
  } finally {
    await ctx.call('task.destroy', task).catch(() => undefined);
  }
}

export function uploadCommand(kind: 'patch' | 'update'): CommandModule {
  return {
    run: async (ctx) => {
      const ref = await uploadUpdate(ctx, getParam(ctx.params, 'file-name')!);
      const uuid = kind === 'patch'
        ? await ctx.call('pool_patch.get_uuid', ref)
        : await ctx.call('pool_update.get_uuid', await ctx.call('pool_patch.get_pool_update', ref));
      ctx.printer.list([String(uuid)]);
    },
  };
}
