/**
 * @module
 * `xe vm-snapshot`, `vm-checkpoint`, `vm-clone` and `vm-copy` (VM selectors, `new-name-label=`,
 * `[new-name-description=]`; vm-snapshot `[ignore-vdi-uuids=a,b]`; vm-copy `[sr-uuid=]`):
 * make a new VM from the selected one and print its uuid.
 */
import { getParam } from '../argv.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { callAsync, refByUuid } from './storage-params.js';

const NOT_FILTERS = ['new-name-label', 'new-name-description', 'ignore-vdi-uuids', 'sr-uuid'];

function copier(op: 'snapshot' | 'checkpoint' | 'clone' | 'copy', includeTemplates: boolean, multiple: boolean): CommandModule {
  return {
    run: async (ctx: CommandContext) => {
      const p = ctx.params;
      const name = getParam(p, 'new-name-label')!;
      const desc = getParam(p, 'new-name-description');
      const extra: unknown[] = [];
      if (op === 'snapshot') {
        const ignore = (getParam(p, 'ignore-vdi-uuids') ?? '').split(',').filter(Boolean);
        extra.push(await Promise.all(ignore.map((u) => refByUuid(ctx, 'VDI', u))));
      }
      if (op === 'copy') {
        const sr = getParam(p, 'sr-uuid');
        extra.push(sr ? await refByUuid(ctx, 'SR', sr) : 'OpaqueRef:NULL');
      }
      const sel = await selectObjects(ctx, 'vm', { ignore: NOT_FILTERS, includeTemplates });
      const made = await forEachSelected(ctx, sel, (row) => callAsync(ctx, `VM.${op}`, row.ref, name, ...extra), multiple);
      if (desc !== undefined && made[0] !== undefined) await ctx.call('VM.set_name_description', made[0], desc);
      const uuids = await Promise.all(made.map((vm) => ctx.call('VM.get_uuid', vm)));
      ctx.printer.list(uuids.map(String));
    },
  };
}

export const vmSnapshot = copier('snapshot', false, true);
export const vmCheckpoint = copier('checkpoint', false, true);
export const vmClone = copier('clone', true, true);
export const vmCopy = copier('copy', true, false);
