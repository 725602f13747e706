/**
 * @module
 * `xe vdi-create sr-uuid= name-label= virtual-size= [type=user] [sharable=]
 * [sm-config:allocation=thin|thick] [tags:=a,b]`: makes a disk and prints its uuid. Sizes
 * take xe's units (`10GiB`, `512MiB`).
 */
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { boolParam, bytesOf, callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

const TYPES = ['system', 'user', 'ephemeral', 'suspend', 'crashdump', 'ha_statefile', 'metadata', 'redo_log', 'rrd', 'pvs_cache', 'cbt_metadata'];

export async function run(ctx: CommandContext): Promise<void> {
  const p = ctx.params;
  const sr = await refByUuid(ctx, 'SR', getParam(p, 'sr-uuid')!);
  const type = (getParam(p, 'type') ?? 'user').toLowerCase();
  if (!TYPES.includes(type)) throw new RecordFailure(`Unknown VDI type: ${type}`);
  const tags = getParam(p, 'tags');
  const vdi = await callAsync(ctx, 'VDI.create', {
    name_label: getParam(p, 'name-label')!, name_description: getParam(p, 'name-description') ?? '', SR: sr,
    virtual_size: bytesOf('virtual-size', getParam(p, 'virtual-size')!), type, sharable: boolParam(p, 'sharable'),
    read_only: false, other_config: {}, xenstore_data: {}, sm_config: mapParam(p, 'sm-config'),
    tags: tags ? tags.split(',').filter(Boolean) : [],
  });
  await printUuid(ctx, 'VDI', vdi);
}
