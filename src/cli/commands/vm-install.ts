/**
 * @module
 * `xe vm-install template=<name or uuid> new-name-label= [sr-uuid=|sr-name-label=]` (or
 * `template-uuid=`, `template-name-label=`): makes a VM from a template as xe does, by
 * `VM.clone` (or `VM.copy` when an SR is named), pointing the template's provisioning XML at
 * the chosen SR (the pool's default SR otherwise), then `VM.provision`. Prints the uuid; on
 * failure the half-made VM is destroyed.
 */
import { getParam, hasParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { callAsync, refByUuid } from './storage-params.js';

type Rec = Record<string, unknown>;
const NULL = 'OpaqueRef:NULL';

async function findTemplate(ctx: CommandContext): Promise<string> {
  const p = ctx.params;
  const byUuid = getParam(p, 'template-uuid');
  if (byUuid !== undefined) {
    try {
      return await refByUuid(ctx, 'VM', byUuid);
    } catch {
      throw new CliFailure('Cannot find template');
    }
  }
  const byName = async (name: string): Promise<string> => {
    const all = (await ctx.call('VM.get_all_records')) as Record<string, Rec>;
    const hits = Object.entries(all).filter(([, r]) => r.name_label === name && r.is_a_template === true && r.is_control_domain !== true);
    if (hits.length === 0) throw new CliFailure('No templates matched');
    if (hits.length > 1) throw new CliFailure('More than one matching template found');
    return hits[0]![0];
  };
  const name = getParam(p, 'template-name-label') ?? getParam(p, 'template-name');
  if (name !== undefined) return byName(name);
  const t = getParam(p, 'template');
  if (t !== undefined) return refByUuid(ctx, 'VM', t).catch(() => byName(t));
  throw new CliFailure("Template must be specified by parameter 'template-uuid', 'template-name', 'template-name-label' or 'template'");
}

async function chosenSr(ctx: CommandContext, isSnapshot: boolean): Promise<string | undefined> {
  const p = ctx.params;
  if (isSnapshot && (hasParam(p, 'sr-name-label') || hasParam(p, 'sr-uuid'))) {
    throw new CliFailure('Do not use the sr-name-label or sr-uuid argument when installing from a snapshot. By default, it will install each new disk on the same SR as the corresponding snapshot disks.');
  }
  let sr = getParam(p, 'sr-uuid') !== undefined ? await refByUuid(ctx, 'SR', getParam(p, 'sr-uuid')!) : undefined;
  const name = getParam(p, 'sr-name-label');
  if (name !== undefined) {
    const hits = (await ctx.call('SR.get_by_name_label', name)) as string[];
    if (hits.length === 0) throw new CliFailure('No SR with that name-label found');
    if (sr !== undefined && !hits.includes(sr)) throw new CliFailure("SR specified via sr-uuid doesn't have the name specified via sr-name-label");
    if (sr === undefined && hits.length > 1) throw new CliFailure('Multiple SRs with that name-label found');
    sr ??= hits[0];
  }
  return sr;
}

async function defaultSrUuid(ctx: CommandContext): Promise<string | undefined> {
  const [pool] = (await ctx.call('pool.get_all')) as string[];
  const sr = String(await ctx.call('pool.get_default_SR', pool));
  if (sr === NULL) return undefined;
  return String(await ctx.call('SR.get_uuid', sr).catch(() => '')) || undefined;
}

/** Points every disk of the provisioning XML at `srUuid`. */
export function rewriteProvisionXml(xml: string, srUuid: string): string {
  return xml.replace(/<disk\b[^>]*>/g, (tag) => tag.replace(/\bsr\s*=\s*"[^"]*"/, `sr="${srUuid}"`));
}

export async function run(ctx: CommandContext): Promise<void> {
  const template = await findTemplate(ctx);
  const rec = (await ctx.call('VM.get_record', template)) as Rec;
  if (rec.is_a_template !== true) throw new CliFailure('Can only install from templates');
  const sr = await chosenSr(ctx, rec.is_a_snapshot === true);
  const disks = (rec.other_config as Record<string, string>).disks;
  let srUuid = sr !== undefined ? String(await ctx.call('SR.get_uuid', sr)) : await defaultSrUuid(ctx);
  if (srUuid === undefined && disks !== undefined) {
    throw new CliFailure('Failed to find a valid default SR for the Pool. Please provide an sr-name-label or sr-uuid parameter.');
  }
  srUuid ??= '';
  const name = getParam(ctx.params, 'new-name-label')!;
  const vm = String(sr !== undefined ? await callAsync(ctx, 'VM.copy', template, name, sr) : await callAsync(ctx, 'VM.clone', template, name));
  try {
    await ctx.call('VM.set_name_description', vm, 'Installed via xe CLI');
    await ctx.call('VM.set_suspend_SR', vm, sr ?? rec.suspend_SR ?? NULL);
    const oc = (await ctx.call('VM.get_other_config', vm)) as Record<string, string>;
    if (oc.disks !== undefined) {
      await ctx.call('VM.remove_from_other_config', vm, 'disks');
      await ctx.call('VM.add_to_other_config', vm, 'disks', rewriteProvisionXml(oc.disks, srUuid));
    }
    await callAsync(ctx, 'VM.provision', vm);
    ctx.printer.list([String(await ctx.call('VM.get_uuid', vm))]);
  } catch (e) {
    await ctx.call('VM.destroy', vm).catch(() => undefined);
    throw e;
  }
}
