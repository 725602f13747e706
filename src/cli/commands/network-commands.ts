/**
 * @module
 * xe's network commands: networks (`network-create`, `-destroy`), VM interfaces
 * (`vif-create`, `-destroy`, `-plug`, `-unplug`, `-move`), host interfaces
 * (`pif-reconfigure-ip`, `-plug`, `-unplug`, `-scan`, `-introduce`, `-forget`), VLANs
 * (`vlan-create`, which prints the new VLAN interface's uuid as xe does, `vlan-destroy`, which takes that interface's
 * uuid or the VLAN's, `pool-vlan-create`), bonds (`bond-create`, `-destroy`, `-set-mode`)
 * and `host-management-reconfigure`. Each is one XenAPI call; the lists and `-param-*`
 * commands come from the records.
 */
import { completeRecord } from '../../client/create-record.js';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { boolParam, callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

const need = (ctx: CommandContext, name: string): string => getParam(ctx.params, name)!;
const cmd = (run: (ctx: CommandContext) => Promise<void>): CommandModule => ({ run });

export const networkCreate = cmd(async (ctx) => {
  const mtu = getParam(ctx.params, 'MTU');
  const net = await ctx.call('network.create', completeRecord('network', {
    name_label: need(ctx, 'name-label'), name_description: getParam(ctx.params, 'name-description') ?? '',
    other_config: mapParam(ctx.params, 'other-config'), ...(mtu !== undefined ? { MTU: Number(mtu) } : {}),
    ...(getParam(ctx.params, 'bridge') ? { bridge: getParam(ctx.params, 'bridge') } : {}),
  }));
  await printUuid(ctx, 'network', net);
});

export const networkDestroy = cmd(async (ctx) => {
  await ctx.call('network.destroy', await refByUuid(ctx, 'network', need(ctx, 'uuid')));
});

export const vifCreate = cmd(async (ctx) => {
  const mac = getParam(ctx.params, 'mac') ?? '';
  const vif = await ctx.call('VIF.create', completeRecord('VIF', {
    device: need(ctx, 'device'), network: await refByUuid(ctx, 'network', need(ctx, 'network-uuid')),
    VM: await refByUuid(ctx, 'VM', need(ctx, 'vm-uuid')), MAC: mac === 'random' ? '' : mac, MTU: 1500,
    other_config: mapParam(ctx.params, 'other-config'), qos_algorithm_type: '', qos_algorithm_params: {},
  }));
  await printUuid(ctx, 'VIF', vif);
});

/** A command that makes one asynchronous call on the object named by `uuid=`. */
function onUuid(cls: string, method: string, extra: (ctx: CommandContext) => Promise<unknown[]> = async () => []): CommandModule {
  return cmd(async (ctx) => {
    await callAsync(ctx, `${cls}.${method}`, await refByUuid(ctx, cls, need(ctx, 'uuid')), ...(await extra(ctx)));
  });
}

export const vifDestroy = onUuid('VIF', 'destroy');
export const vifPlug = onUuid('VIF', 'plug');
export const vifUnplug = cmd(async (ctx) => {
  const vif = await refByUuid(ctx, 'VIF', need(ctx, 'uuid'));
  await callAsync(ctx, boolParam(ctx.params, 'force') ? 'VIF.unplug_force' : 'VIF.unplug', vif);
});
export const vifMove = onUuid('VIF', 'move', async (ctx) => [await refByUuid(ctx, 'network', need(ctx, 'network-uuid'))]);

export const pifReconfigureIp = cmd(async (ctx) => {
  const modes: Record<string, string> = { none: 'None', dhcp: 'DHCP', static: 'Static' };
  const given = need(ctx, 'mode');
  const mode = modes[given.toLowerCase()];
  if (!mode) throw new CliFailure(`Unknown mode: ${given} (should be "none", "dhcp" or "static")`);
  const p = (name: string) => getParam(ctx.params, name) ?? '';
  await callAsync(ctx, 'PIF.reconfigure_ip', await refByUuid(ctx, 'PIF', need(ctx, 'uuid')), mode, p('IP'), p('netmask'), p('gateway'), p('DNS'));
});
export const pifPlug = onUuid('PIF', 'plug');
export const pifUnplug = onUuid('PIF', 'unplug');
export const pifScan = cmd(async (ctx) => {
  await callAsync(ctx, 'PIF.scan', await refByUuid(ctx, 'host', need(ctx, 'host-uuid')));
});

export const pifIntroduce = cmd(async (ctx) => {
  const pif = await callAsync(ctx, 'PIF.introduce', await refByUuid(ctx, 'host', need(ctx, 'host-uuid')), getParam(ctx.params, 'mac') ?? '',
    need(ctx, 'device'), boolParam(ctx.params, 'managed', true));
  await printUuid(ctx, 'PIF', pif);
});

export const pifForget = cmd(async (ctx) => {
  await callAsync(ctx, 'PIF.forget', await refByUuid(ctx, 'PIF', need(ctx, 'uuid')));
});

export const vlanCreate = cmd(async (ctx) => {
  const vlan = await ctx.call('VLAN.create', await refByUuid(ctx, 'PIF', need(ctx, 'pif-uuid')), Number(need(ctx, 'vlan')),
    await refByUuid(ctx, 'network', need(ctx, 'network-uuid')));
  await printUuid(ctx, 'PIF', await ctx.call('VLAN.get_untagged_PIF', vlan));
});

export const poolVlanCreate = cmd(async (ctx) => {
  const pifs = (await ctx.call('pool.create_VLAN_from_PIF', await refByUuid(ctx, 'PIF', need(ctx, 'pif-uuid')),
    await refByUuid(ctx, 'network', need(ctx, 'network-uuid')), Number(need(ctx, 'vlan')))) as string[];
  ctx.printer.list(await Promise.all(pifs.map(async (p) => String(await ctx.call('PIF.get_uuid', p)))));
});

export const vlanDestroy = cmd(async (ctx) => {
  const uuid = need(ctx, 'uuid');
  const vlans = (await ctx.call('VLAN.get_all_records')) as Record<string, Record<string, unknown>>;
  let target: string | undefined;
  for (const [ref, v] of Object.entries(vlans)) {
    if (v.uuid === uuid) target = ref;
  }
  if (!target) {
    const pif = await refByUuid(ctx, 'PIF', uuid);
    target = Object.entries(vlans).find(([, v]) => v.untagged_PIF === pif)?.[0];
    if (!target) throw new CliFailure(`PIF ${uuid} is not a VLAN interface`);
  }
  await callAsync(ctx, 'VLAN.destroy', target);
});

export const bondCreate = cmd(async (ctx) => {
  const members = await Promise.all(need(ctx, 'pif-uuids').split(',').map((u) => u.trim()).filter(Boolean)
    .map((u) => refByUuid(ctx, 'PIF', u)));
  const bond = await ctx.call('Bond.create', await refByUuid(ctx, 'network', need(ctx, 'network-uuid')), members,
    getParam(ctx.params, 'mac') ?? '', getParam(ctx.params, 'mode') ?? 'balance-slb', mapParam(ctx.params, 'properties'));
  await printUuid(ctx, 'Bond', bond);
});
export const bondDestroy = onUuid('Bond', 'destroy');
export const bondSetMode = onUuid('Bond', 'set_mode', async (ctx) => [need(ctx, 'mode')]);

export const hostManagementReconfigure = cmd(async (ctx) => {
  await callAsync(ctx, 'host.management_reconfigure', await refByUuid(ctx, 'PIF', need(ctx, 'pif-uuid')));
});
