/**
 * @module
 * The VDI commands built on one call: `vdi-destroy`, `vdi-forget` (uuid=), `vdi-snapshot`
 * (uuid= [driver-params:k=v]), `vdi-clone` (uuid= [new-name-label=] [new-name-description=]),
 * `vdi-copy` (uuid= and one of sr-uuid= or into-vdi-uuid=, [base-vdi-uuid=]) and
 * `vdi-resize` (uuid= disk-size=), `vdi-update` (uuid=: the record refreshed from the
 * storage) and `vdi-introduce` (uuid= sr-uuid= type= location= …: a record for a disk the
 * storage holds; unmanaged unless managed=true, as xe makes it). Those that make a disk or
 * record print its uuid.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { boolParam, bytesOf, callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

const NULL = 'OpaqueRef:NULL';
const self = (ctx: CommandContext) => refByUuid(ctx, 'VDI', getParam(ctx.params, 'uuid')!);

const cmd = (run: (ctx: CommandContext) => Promise<void>): CommandModule => ({ run });

export const vdiDestroy = cmd(async (ctx) => { await callAsync(ctx, 'VDI.destroy', await self(ctx)); });
export const vdiForget = cmd(async (ctx) => { await callAsync(ctx, 'VDI.forget', await self(ctx)); });

export const vdiSnapshot = cmd(async (ctx) => {
  const vdi = await callAsync(ctx, 'VDI.snapshot', await self(ctx), mapParam(ctx.params, 'driver-params'));
  await printUuid(ctx, 'VDI', vdi);
});

export const vdiClone = cmd(async (ctx) => {
  const vdi = await callAsync(ctx, 'VDI.clone', await self(ctx), mapParam(ctx.params, 'driver-params'));
  const name = getParam(ctx.params, 'new-name-label');
  const desc = getParam(ctx.params, 'new-name-description');
  if (name !== undefined) await ctx.call('VDI.set_name_label', vdi, name);
  if (desc !== undefined) await ctx.call('VDI.set_name_description', vdi, desc);
  await printUuid(ctx, 'VDI', vdi);
});

export const vdiCopy = cmd(async (ctx) => {
  const p = ctx.params;
  const srUuid = getParam(p, 'sr-uuid');
  const intoUuid = getParam(p, 'into-vdi-uuid');
  if ((srUuid === undefined) === (intoUuid === undefined)) {
    throw new CliFailure('Please specify one but not both of: a destination sr-uuid (I will create a fresh VDI); or a destination into-vdi-uuid (I will copy the blocks into this VDI)');
  }
  const baseUuid = getParam(p, 'base-vdi-uuid');
  const vdi = await callAsync(ctx, 'VDI.copy', await self(ctx),
    srUuid ? await refByUuid(ctx, 'SR', srUuid) : NULL,
    baseUuid ? await refByUuid(ctx, 'VDI', baseUuid) : NULL,
    intoUuid ? await refByUuid(ctx, 'VDI', intoUuid) : NULL);
  await printUuid(ctx, 'VDI', vdi);
});

export const vdiResize = cmd(async (ctx) => {
  await callAsync(ctx, 'VDI.resize', await self(ctx), bytesOf('disk-size', getParam(ctx.params, 'disk-size')!));
});

export const vdiUpdate = cmd(async (ctx) => { await callAsync(ctx, 'VDI.update', await self(ctx)); });

export const vdiIntroduce = cmd(async (ctx) => {
  const p = ctx.params;
  const vdi = await callAsync(ctx, 'VDI.introduce', getParam(p, 'uuid')!,
    // An empty name lets a driver that names its disks (an ISO's file name) keep its own.
    getParam(p, 'name-label') ?? '', getParam(p, 'name-description') ?? '',
    await refByUuid(ctx, 'SR', getParam(p, 'sr-uuid')!), getParam(p, 'type')!,
    boolParam(p, 'sharable'), boolParam(p, 'read-only'), mapParam(p, 'other-config'), getParam(p, 'location')!,
    mapParam(p, 'xenstore-data'), mapParam(p, 'sm-config'), boolParam(p, 'managed'));
  await printUuid(ctx, 'VDI', vdi);
});
