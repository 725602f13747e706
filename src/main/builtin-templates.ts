/**
 * @module
 * The templates a fresh pool ships with: XenServer 6.0.2's set (`templates-602.ts`), each
 * with the memory, VCPUs, boot method and the system disk to provision (thin, so it costs
 * nothing until written) on the pool's default SR. `xe vm-install template="…"
 * new-name-label=…` clones one and provisions it. A template that is already there (same
 * name, marked as a default template) is left as it is; missing ones are added at start.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid } from '../core/ref.js';
import { TEMPLATES_602, type TemplateSpec } from './templates-602.js';

export const OTHER_INSTALL_MEDIA = 'Other install media';

const RECOMMENDATIONS = '<restrictions><restriction field="memory-static-max" max="137438953472" />'
  + '<restriction field="vcpus-max" max="32" /><restriction property="number-of-vbds" max="255" />'
  + '<restriction property="number-of-vifs" max="7" /></restrictions>';

const HVM_PLATFORM = { nx: 'true', acpi: '1', apic: 'true', pae: 'true', 'device-model': 'qemu-upstream-compat' };

function describe(t: TemplateSpec): string {
  if (t.kind === 'other') return 'Template which allows VM installation from install media';
  if (t.kind === 'windows') return 'Clones of this template will automatically provision their storage when first booted and then reconfigure themselves with the optimal settings for the guest OS.';
  return 'Template that allows VM installation from Xen-aware distributions, installed by the Xen-aware installer from CD or a network repository.';
}

export function templateRecord(t: TemplateSpec): Record<string, unknown> {
  const hvm = t.kind !== 'linux';
  const disks = `<provision><disk device="0" size="${t.disk}" sr="" bootable="true" type="system"/></provision>`;
  const other: Record<string, string> = { default_template: 'true', disks };
  if (t.kind === 'linux') {
    Object.assign(other, {
      linux_template: 'true', 'install-methods': 'cdrom,nfs,http,ftp', 'install-distro': t.distro!, 'install-arch': t.arch!,
      ...(t.extra ?? {}),
    });
  } else {
    Object.assign(other, { linux_template: 'false', 'install-methods': 'cdrom' });
  }
  return {
    uuid: newUuid(),
    name_label: t.name,
    name_description: describe(t),
    power_state: 'Halted',
    user_version: 1,
    is_a_template: true,
    is_default_template: true,
    memory_static_max: t.memory,
    memory_dynamic_max: t.memory,
    memory_dynamic_min: t.memory,
    memory_static_min: t.minMemory,
    memory_target: t.memory,
    VCPUs_max: 1,
    VCPUs_at_startup: 1,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    HVM_boot_policy: hvm ? 'BIOS order' : '',
    HVM_boot_params: hvm ? { order: 'dc' } : {},
    PV_bootloader: hvm ? '' : 'eliloader',
    platform: hvm ? { ...HVM_PLATFORM, viridian: t.kind === 'windows' ? 'true' : 'false' } : { nx: 'false' },
    domain_type: hvm ? 'hvm' : 'pv',
    recommendations: RECOMMENDATIONS,
    other_config: other,
  };
}

/** Creates the built-in templates that are missing. */
export function ensureBuiltinTemplates(db: PoolDb): void {
  const have = new Set(db.all('VM').filter(([, r]) => r.is_default_template === true).map(([, r]) => String(r.name_label)));
  const missing = TEMPLATES_602.filter((t) => !have.has(t.name));
  if (!missing.length) return;
  db.transaction(() => {
    for (const t of missing) db.create('VM', newRef<'VM'>(), templateRecord(t));
  });
}
