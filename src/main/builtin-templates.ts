/**
 * @module
 * The templates a fresh pool ships with. XenServer's catch-all "Other install media" is the
 * one Islet has: an HVM guest booting from CD then disk, with one 32 GiB system disk to be
 * provisioned (thin, so it costs nothing until written) on the pool's default SR. `xe
 * vm-install template="Other install media" new-name-label=…` clones it and provisions it.
 * A template that is already there is left as it is.
 */
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid } from '../core/ref.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export const OTHER_INSTALL_MEDIA = 'Other install media';

const RECOMMENDATIONS = '<restrictions><restriction field="memory-static-max" max="137438953472" />'
  + '<restriction field="vcpus-max" max="32" /><restriction property="number-of-vbds" max="255" />'
  + '<restriction property="number-of-vifs" max="7" /></restrictions>';

function otherInstallMedia(): Record<string, unknown> {
  return {
    uuid: newUuid(),
    name_label: OTHER_INSTALL_MEDIA,
    name_description: 'Template which allows VM installation from install media',
    power_state: 'Halted',
    user_version: 1,
    is_a_template: true,
    is_default_template: true,
    memory_static_max: 256 * MiB,
    memory_dynamic_max: 256 * MiB,
    memory_dynamic_min: 256 * MiB,
    memory_static_min: 256 * MiB,
    memory_target: 256 * MiB,
    VCPUs_max: 1,
    VCPUs_at_startup: 1,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    HVM_boot_policy: 'BIOS order',
    HVM_boot_params: { order: 'dc' },
    platform: { nx: 'true', acpi: '1', apic: 'true', pae: 'true', viridian: 'false', 'device-model': 'qemu-upstream-compat' },
    domain_type: 'hvm',
    recommendations: RECOMMENDATIONS,
    other_config: {
      default_template: 'true',
      'install-methods': 'cdrom',
      linux_template: 'false',
      disks: `<provision><disk device="0" size="${32 * GiB}" sr="" bootable="true" type="system"/></provision>`,
    },
  };
}

/** Creates the built-in templates that are missing. */
export function ensureBuiltinTemplates(db: PoolDb): void {
  const have = db.all('VM').some(([, r]) => r.is_default_template === true && r.name_label === OTHER_INSTALL_MEDIA);
  if (!have) db.create('VM', newRef<'VM'>(), otherInstallMedia());
}
