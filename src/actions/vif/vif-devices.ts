/**
 * @module
 * A VM's VIFs as the hypervisor sees them: the network cards a domain is built with, and
 * `currently_attached` kept equal to what the domain really has plugged. Every change of
 * a domain (start, reboot, resume, migration, reconciliation, hot-plug) goes through
 * `recordNics`, so the database never claims a card the domain lacks.
 */
import type { DomainInfo, DomainNic } from '../../core/ports/hypervisor.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import type { RecordOf } from '../../core/record-of.js';
import type { Ref } from '../../core/ref.js';

function vifsOf(db: PoolDb, vm: Ref<'VM'>): Array<[Ref<'VIF'>, RecordOf<'VIF'>]> {
  const out: Array<[Ref<'VIF'>, RecordOf<'VIF'>]> = [];
  for (const v of db.get('VM', vm)?.VIFs ?? []) {
    const row = db.get('VIF', v);
    if (row) out.push([v, row]);
  }
  return out;
}

/** The card a VIF becomes in a domain: its device, MAC, and its network's bridge. */
export function nicOf(db: PoolDb, vif: RecordOf<'VIF'>): DomainNic {
  const bridge = String(db.get('network', vif.network)?.bridge ?? '') || 'xenbr0';
  const mtu = Number(vif.MTU) > 0 ? { mtu: Number(vif.MTU) } : {};
  return { device: String(vif.device), mac: String(vif.MAC), bridge, ...mtu };
}

/** Every VIF of the VM, as xapi plugs them all when it builds the domain. */
export function nicsForBoot(db: PoolDb, vm: Ref<'VM'>): DomainNic[] {
  return vifsOf(db, vm)
    .filter(([, row]) => /^(?:[0-9]|1[0-5])$/.test(String(row.device)))
    .map(([, row]) => nicOf(db, row));
}

/**
 * Sets each VIF's `currently_attached` from the domain: plugged when the domain has a card
 * in its slot, unplugged otherwise (and all unplugged when there is no domain).
 */
export function recordNics(db: PoolDb, vm: Ref<'VM'>, d: DomainInfo | undefined): void {
  if (d && !d.nics) return;
  const plugged = new Set((d?.nics ?? []).map((n) => n.device));
  for (const [ref, row] of vifsOf(db, vm)) {
    const attached = plugged.has(String(row.device));
    if (row.currently_attached !== attached) db.update('VIF', ref, { currently_attached: attached });
  }
}
