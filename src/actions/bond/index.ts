/**
 * @module
 * Bond: physical interfaces of one host joined into one. `create` makes the bond's master
 * PIF (`bondN`, on the network given, the primary member's MAC unless one is given) which
 * takes over the primary member's IP configuration and management role; the members keep
 * no configuration and go down as separate interfaces, as on XenServer. `destroy` gives
 * the configuration back to the primary member. The primary member is the management
 * interface if one member is, else the one with an address, else the first given.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { type ActionsOf, type MessageArgs } from '../../core/actions-of.js';
import type { RecordOf } from '../../core/record-of.js';
import { bondMode } from '../../datamodel/enums.js';
import { NULL_REF, isNullRef, newRef, newUuid, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { NO_IP, ipConfigOfRow } from '../pif/ip-config.js';
import { assertNetworkFreeOnHost } from '../vlan/index.js';

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const MODES: readonly string[] = bondMode.values;

function checkMembers(ctx: ActionContext, members: readonly Ref<'PIF'>[]): Array<[Ref<'PIF'>, RecordOf<'PIF'>]> {
  const unique = [...new Set(members)];
  if (unique.length < 2) throw new ApiError('PIF_BOND_NEEDS_MORE_MEMBERS', []);
  const rows = unique.map((m): [Ref<'PIF'>, RecordOf<'PIF'>] => [m, mustRow(ctx, 'PIF', m)]);
  if (new Set(rows.map(([, r]) => r.host)).size > 1) throw new ApiError('PIF_CANNOT_BOND_CROSS_HOST', []);
  for (const [ref, r] of rows) {
    if (Number(r.VLAN ?? -1) !== -1) throw new ApiError('PIF_IS_VLAN', [ref]);
    if (!isNullRef(r.bond_slave_of)) throw new ApiError('PIF_ALREADY_BONDED', [ref]);
    if (r.physical !== true) throw new ApiError('PIF_IS_NOT_PHYSICAL', [ref]);
    if (ctx.db.all('VLAN').some(([, v]) => v.tagged_PIF === ref)) throw new ApiError('PIF_VLAN_STILL_EXISTS', [ref]);
  }
  if (rows.filter(([, r]) => r.ip_configuration_mode !== 'None' && r.ip_configuration_mode !== undefined).length > 1) {
    throw new ApiError('PIF_BOND_MORE_THAN_ONE_IP', []);
  }
  return rows;
}

function nextBondDevice(ctx: ActionContext, host: unknown): string {
  const used = new Set(ctx.db.all('PIF').filter(([, r]) => r.host === host).map(([, r]) => String(r.device)));
  let n = 0;
  while (used.has(`bond${n}`)) n++;
  return `bond${n}`;
}

function createBond(ctx: ActionContext, a: MessageArgs<'Bond', 'create'>): Ref<'Bond'> {
  const network = a.network;
  const net = mustRow(ctx, 'network', network);
  const rows = checkMembers(ctx, Array.isArray(a.members) ? a.members : []);
  const mode = a.mode || 'balance-slb';
  if (!MODES.includes(mode)) throw new ApiError('INVALID_VALUE', ['mode', mode]);
  const mac = String(a.MAC ?? '');
  if (mac !== '' && !MAC_RE.test(mac)) throw new ApiError('MAC_INVALID', [mac]);
  const host = rows[0]![1].host;
  assertNetworkFreeOnHost(ctx, network, host);
  const [primary, primaryRow] = rows.find(([, r]) => r.management === true)
    ?? rows.find(([, r]) => r.ip_configuration_mode !== 'None') ?? rows[0]!;
  const bond = newRef<'Bond'>();
  const master = newRef<'PIF'>();
  ctx.db.transaction(() => {
    ctx.db.create('PIF', master, {
      uuid: newUuid(), device: nextBondDevice(ctx, host), network, host, MAC: (mac || String(primaryRow.MAC)).toLowerCase(),
      MTU: Number(net.MTU ?? 1500) || 1500, VLAN: -1, physical: false, currently_attached: true, ...ipConfigOfRow(primaryRow),
      management: primaryRow.management === true, other_config: {}, managed: true, primary_address_type: 'IPv4',
      ipv6_configuration_mode: 'None',
    });
    ctx.db.create('Bond', bond, {
      uuid: newUuid(), master, primary_slave: primary, mode, properties: a.properties ?? {},
      links_up: rows.length, auto_update_mac: mac === '', other_config: {},
    });
    for (const [ref] of rows) {
      ctx.db.update('PIF', ref, { ...NO_IP, bond_slave_of: bond, management: false, currently_attached: false });
    }
  });
  return bond;
}

function destroyBond(ctx: ActionContext, bond: Ref<'Bond'>): void {
  const row = mustRow(ctx, 'Bond', bond);
  const master = row.master;
  const masterRow = ctx.db.get('PIF', master);
  if (masterRow && ctx.db.all('VLAN').some(([, v]) => v.tagged_PIF === master)) throw new ApiError('PIF_VLAN_STILL_EXISTS', [master]);
  const members = ctx.db.all('PIF').filter(([, r]) => r.bond_slave_of === bond);
  const primary = (members.find(([ref]) => ref === row.primary_slave) ?? members[0])?.[0];
  ctx.db.transaction(() => {
    for (const [ref] of members) {
      const back = ref === primary && masterRow
        ? { ...ipConfigOfRow(masterRow), management: masterRow.management === true }
        : {};
      ctx.db.update('PIF', ref, { bond_slave_of: NULL_REF, currently_attached: true, ...back });
    }
    if (masterRow) ctx.db.remove('PIF', master);
    ctx.db.remove('Bond', bond);
  });
}

export const bondActions = {
  create: (ctx, a) => createBond(ctx, a),
  destroy: (ctx, a) => {
    destroyBond(ctx, a.self);
    return '';
  },
  set_mode: (ctx, a) => {
    mustRow(ctx, 'Bond', a.self);
    const mode = a.value;
    if (!MODES.includes(mode)) throw new ApiError('INVALID_VALUE', ['mode', mode]);
    ctx.db.update('Bond', a.self, { mode });
    return '';
  },
  set_property: (ctx, a) => {
    const row = mustRow(ctx, 'Bond', a.self);
    ctx.db.update('Bond', a.self, { properties: { ...row.properties ?? {}, [a.name]: a.value } });
    return '';
  },
} satisfies ActionsOf<'Bond'>;
