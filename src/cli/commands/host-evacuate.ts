/**
 * @module
 * `xe host-evacuate [network-uuid=] [batch-size=] <host-selectors>`: live-migrates every
 * VM off one host to the others (`host.evacuate`), `batch-size` at a time; and `xe
 * host-get-vms-which-prevent-evacuation uuid=`: each VM that could not be moved off, with
 * the reason (the error code and its parameters, comma-separated).
 */
import { getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { cliClass, prepare, qualifierSuffix } from '../records.js';
import { forEachSelected, selectObjects } from '../select.js';
import { refByUuid } from './storage-params.js';

async function evacuate(ctx: CommandContext): Promise<void> {
  const netUuid = getParam(ctx.params, 'network-uuid');
  const network = netUuid === undefined ? 'OpaqueRef:NULL' : String(await ctx.call('network.get_by_uuid', netUuid));
  const raw = getParam(ctx.params, 'batch-size');
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new RecordFailure(`Failed to parse parameter 'batch-size': expected an unsigned integer, got ${raw}`);
  const batch = raw === undefined ? 0 : Number(raw);
  const sel = await selectObjects(ctx, 'host', { ignore: ['network-uuid', 'batch-size'] });
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync('host.evacuate', row.ref, network, batch), false);
}

async function blockers(ctx: CommandContext): Promise<void> {
  const host = await refByUuid(ctx, 'host', getParam(ctx.params, 'uuid')!);
  const vms = (await ctx.client.callAsync('host.get_vms_which_prevent_evacuation', host)) as Record<string, string[]>;
  const cc = cliClass('vm')!;
  const fields = cc.fields.filter((f) => f.name === 'uuid' || f.name === 'name-label');
  const res = ctx.resolver();
  for (const [ref, reason] of Object.entries(vms)) {
    const row = { ref, rec: (await ctx.call('VM.get_record', ref)) as Record<string, unknown> };
    await prepare(fields, [row], res);
    ctx.printer.table([[...fields.map((f) => [`${f.name}${qualifierSuffix(f)}`, f.get(row, res)] as const), ['reason ( RO)', reason.join(',')] as const]]);
  }
}

export async function run(ctx: CommandContext): Promise<void> {
  return ctx.cmd === 'host-evacuate' ? evacuate(ctx) : blockers(ctx);
}
