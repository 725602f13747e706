/**
 * @module
 * The networks and host interfaces a XenServer install starts with: a pool-wide network
 * on bridge `xenbr0` that each host's management interface (`eth0`) joins, and the
 * host-internal management network (bridge `xenapi`) that guests use to reach their own
 * host, and a PIF for each further card the host is configured with (`ISLET_NICS`), each
 * on the pool-wide network of its bridge. Islet's hosts carry no packets (the hypervisor
 * is simulated), so a PIF records what the host is reached at: its address, as the
 * management interface's IP.
 */
import { createHash } from 'node:crypto';
import type { Services } from '../../core/action-context.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';

export const MANAGEMENT_BRIDGE = 'xenbr0';
export const INTERNAL_BRIDGE = 'xenapi';

function networkByBridge(db: PoolDb, bridge: string): Ref<'network'> | undefined {
  return db.all('network').find(([, r]) => r.bridge === bridge)?.[0];
}

/** The pool's two standard networks, made once by the pool's first host. */
export function ensurePoolNetworks(db: PoolDb): void {
  db.transaction(() => {
    if (!networkByBridge(db, MANAGEMENT_BRIDGE)) {
      db.create('network', newRef<'network'>(), {
        uuid: newUuid(), name_label: 'Pool-wide network associated with eth0', name_description: '', bridge: MANAGEMENT_BRIDGE,
        MTU: 1500, other_config: {}, managed: true, default_locking_mode: 'unlocked',
      });
    }
    if (!networkByBridge(db, INTERNAL_BRIDGE)) {
      db.create('network', newRef<'network'>(), {
        uuid: newUuid(), name_label: 'Host internal management network',
        name_description: 'Network on which guests will be assigned a private link-local IP address which can be used to talk XenAPI',
        bridge: INTERNAL_BRIDGE, MTU: 1500, managed: true, default_locking_mode: 'unlocked',
        other_config: { is_guest_installer_network: 'true', is_host_internal_management_network: 'true', ip_begin: '169.254.0.1', ip_end: '169.254.255.254', netmask: '255.255.0.0' },
      });
    }
  });
}

/** A hardware address that stays the same for a host across restarts: locally administered, unicast. */
export function stableMac(seed: string): string {
  const b = createHash('md5').update(seed).digest().subarray(0, 6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * This host's network cards, in the order it was configured with (the first carries the
 * management interface), each with its MAC, made from the host's uuid so that it is the
 * same at every start.
 */
export function hostNics(services: Services): Map<string, string> {
  const uuid = String(services.db.get('host', services.hostRef)?.uuid ?? '');
  const nics = services.nics?.length ? services.nics : ['eth0'];
  return new Map(nics.map((d, i) => [d, i === 0 ? stableMac(uuid) : stableMac(`${uuid}/${d}`)]));
}

function netmaskOf(address: string): string {
  if (address.startsWith('127.')) return '255.0.0.0';
  return address.includes(':') ? '' : '255.255.255.0';
}

/**
 * This host's management interface on the pool-wide network, made if missing. Runs on
 * every host at start (a member's writes reach the master). The interface and
 * `host.address` agree: a static address the management interface was given and the host
 * still serves at becomes the host's address again; otherwise the interface takes the
 * address the host was started with.
 */
export function ensureManagementPif(services: Services): Ref<'PIF'> | undefined {
  const { db, hostRef } = services;
  const host = db.get('host', hostRef);
  const network = networkByBridge(db, MANAGEMENT_BRIDGE);
  if (!host || !network) return undefined;
  const address = String(host.address ?? '');
  const existing = db.all('PIF').find(([, r]) => r.host === hostRef && r.management === true);
  if (existing) {
    const [ref, row] = existing;
    const ip = String(row.IP ?? '');
    if (ip && ip !== address && row.ip_configuration_mode === 'Static' && services.listensOn?.(ip)) {
      db.update('host', hostRef, { address: ip });
    } else if (ip !== address) {
      db.update('PIF', ref, { IP: address, netmask: netmaskOf(address) });
    }
    return ref;
  }
  const [device, mac] = [...hostNics(services)][0]!;
  const ref = newRef<'PIF'>();
  db.create('PIF', ref, {
    uuid: newUuid(), device, network, host: hostRef, MAC: mac, MTU: 1500, VLAN: -1,
    physical: true, currently_attached: true, ip_configuration_mode: 'Static', IP: address, netmask: netmaskOf(address),
    gateway: '', DNS: '', management: true, other_config: {}, managed: true, primary_address_type: 'IPv4',
    ipv6_configuration_mode: 'None',
  });
  return ref;
}

/** The bridge XenServer names after a card: `eth2` → `xenbr2`. */
export function bridgeOf(device: string): string {
  const m = /^eth(\d+)$/.exec(device);
  return m ? `xenbr${m[1]}` : `xenbr-${device}`;
}

/**
 * A PIF for this host's card `device` (hardware address `mac`), on the pool-wide network of
 * its bridge (made if missing), up and unaddressed, as a fresh XenServer install leaves its
 * cards other than the management one.
 */
export function makeNicPif(services: Services, device: string, mac: string, managed = true): Ref<'PIF'> {
  const { db, hostRef } = services;
  const bridge = bridgeOf(device);
  return db.transaction(() => {
    let network = networkByBridge(db, bridge);
    if (!network) {
      network = newRef<'network'>();
      db.create('network', network, {
        uuid: newUuid(), name_label: `Pool-wide network associated with ${device}`, name_description: '', bridge,
        MTU: 1500, other_config: {}, managed: true, default_locking_mode: 'unlocked',
      });
    }
    const ref = newRef<'PIF'>();
    db.create('PIF', ref, {
      uuid: newUuid(), device, network, host: hostRef, MAC: mac, MTU: 1500, VLAN: -1,
      physical: true, currently_attached: true, ip_configuration_mode: 'None', IP: '', netmask: '', gateway: '', DNS: '',
      management: false, other_config: {}, managed, primary_address_type: 'IPv4', ipv6_configuration_mode: 'None',
    });
    return ref;
  });
}

/** Whether this host has a physical, untagged PIF for card `device`. */
export function hasNicPif(services: Services, device: string): boolean {
  return services.db.all('PIF').some(([, r]) => r.host === services.hostRef && r.device === device && Number(r.VLAN ?? -1) === -1 && r.physical === true);
}

/** A PIF for each network card the host was configured with beyond the management one; `PIF.scan` runs this again. */
export function ensureNicPifs(services: Services): Ref<'PIF'>[] {
  if (!services.db.get('host', services.hostRef)) return [];
  const made: Ref<'PIF'>[] = [];
  for (const [device, mac] of [...hostNics(services)].slice(1)) {
    if (!hasNicPif(services, device)) made.push(makeNicPif(services, device, mac));
  }
  return made;
}
