/**
 * @module
 * xe's storage and VM-disk commands for the command table: SRs (`sr-create`, `-introduce`,
 * `-forget`, `-destroy`, `-scan`, `-update`, `-probe`), PBDs, VDIs (including import and
 * export), VBDs, and the VM commands that make or remove VMs with their disks
 * (`vm-install`, `vm-snapshot`, `vm-clone`, `vm-copy`, `vm-destroy`, `vm-uninstall`,
 * `vm-disk-add`, `vm-disk-remove`, `snapshot-*`, `template-uninstall`). The `-list` and `-param-*` commands come from the
 * records.
 */
import type { CommandModule } from './command-context.js';
import type { CommandFlag, CommandSpec } from './command-table.js';

const sr = () => import('./commands/sr-simple.js');
const pbd = () => import('./commands/pbd-commands.js');
const vdi = () => import('./commands/vdi-commands.js');
const xfer = () => import('./commands/vdi-transfer.js');
const copies = () => import('./commands/vm-copies.js');
const snaps = () => import('./commands/snapshot-commands.js');
const uninst = () => import('./commands/vm-uninstall.js');
const xva = () => import('./commands/vm-xva.js');
const cds = () => import('./commands/vm-cd-commands.js');
const disks = () => import('./commands/vm-disk-commands.js');

function spec(name: string, reqd: string[], optn: string[], help: string, load: () => Promise<CommandModule>, flags: CommandFlag[] = ['standard']): CommandSpec {
  return { name, reqd, optn, help, flags, load };
}

export const STORAGE_COMMANDS: readonly CommandSpec[] = [
  spec('sr-create', ['name-label', 'type'], ['physical-size', 'content-type', 'host-uuid', 'device-config:', 'shared', 'sm-config:', 'name-description'],
    'Create an SR, also a PBD per host that should see it, and plug them. Prints the new SR\'s UUID.', () => import('./commands/sr-create.js')),
  spec('sr-introduce', ['name-label', 'type', 'uuid'], ['content-type', 'shared', 'sm-config:', 'name-description'],
    'Introduce an SR that exists on storage (but no PBD for it). Prints its UUID.', () => import('./commands/sr-introduce.js')),
  spec('sr-forget', ['uuid'], [], 'Forget about the SR: remove its records, leaving the storage alone.', async () => (await sr()).srForget),
  spec('sr-destroy', ['uuid'], [], 'Destroy the SR and everything on it.', async () => (await sr()).srDestroy),
  spec('sr-scan', ['uuid'], [], 'Sync the SR\'s VDI records with what is on the storage.', async () => (await sr()).srScan),
  spec('sr-update', ['uuid'], [], 'Refresh the SR\'s space figures from the storage.', async () => (await sr()).srUpdate),
  spec('sr-probe', ['type'], ['host-uuid', 'device-config:', 'sm-config:'],
    'Ask the driver which SRs the device config reaches.', () => import('./commands/sr-probe.js')),
  spec('pbd-create', ['host-uuid', 'sr-uuid'], ['device-config:'], 'Create a PBD. Prints its UUID.', async () => (await pbd()).pbdCreate),
  spec('pbd-plug', ['uuid'], [], 'Attach the PBD\'s SR on its host.', async () => (await pbd()).pbdPlug),
  spec('pbd-unplug', ['uuid'], [], 'Detach the PBD\'s SR from its host.', async () => (await pbd()).pbdUnplug),
  spec('pbd-destroy', ['uuid'], [], 'Destroy an unplugged PBD.', async () => (await pbd()).pbdDestroy),
  spec('vdi-create', ['sr-uuid', 'name-label', 'virtual-size'], ['type', 'sharable', 'sm-config:', 'tags:', 'name-description'],
    'Create a VDI (thin unless sm-config:allocation=thick). Prints its UUID.', () => import('./commands/vdi-create.js')),
  spec('vdi-destroy', ['uuid'], [], 'Destroy a VDI.', async () => (await vdi()).vdiDestroy),
  spec('vdi-forget', ['uuid'], [], 'Forget a VDI: remove its record, leaving the storage alone.', async () => (await vdi()).vdiForget),
  spec('vdi-snapshot', ['uuid'], ['driver-params:'], 'Snapshot a VDI. Prints the snapshot\'s UUID.', async () => (await vdi()).vdiSnapshot),
  spec('vdi-clone', ['uuid'], ['driver-params:', 'new-name-label', 'new-name-description'],
    'Clone a VDI. Prints the clone\'s UUID.', async () => (await vdi()).vdiClone),
  spec('vdi-copy', ['uuid'], ['sr-uuid', 'base-vdi-uuid', 'into-vdi-uuid'],
    'Copy a VDI to an SR (a new VDI) or into an existing VDI. Prints the UUID of the VDI written.', async () => (await vdi()).vdiCopy),
  spec('vdi-update', ['uuid'], [], 'Refresh the fields of the VDI from the storage.', async () => (await vdi()).vdiUpdate),
  spec('vdi-introduce', ['uuid', 'sr-uuid', 'type', 'location'],
    ['name-label', 'name-description', 'sharable', 'read-only', 'managed', 'other-config:', 'xenstore-data:', 'sm-config:'],
    'Create a VDI record for a disk the SR holds (unmanaged unless managed=true). Prints its UUID.', async () => (await vdi()).vdiIntroduce),
  spec('vdi-resize', ['uuid', 'disk-size'], ['online'], 'Resize a VDI.', async () => (await vdi()).vdiResize),
  spec('vdi-import', ['uuid', 'filename'], ['format', 'progress'], 'Import a raw or VHD image into a VDI.', async () => (await xfer()).vdiImport, ['standard', 'credentials']),
  spec('vdi-export', ['uuid', 'filename'], ['format', 'base', 'progress'], 'Export a VDI as a raw or VHD image; with base=<VDI uuid>, only what differs from that VDI.', async () => (await xfer()).vdiExport),
  spec('vm-export', ['filename'], ['metadata', 'include-snapshots', 'compress', 'progress'],
    'Export the selected VM to an XVA file (metadata=true: its records only; include-snapshots=true: its snapshots too; compress=true|zstd).', async () => (await xva()).vmExport, ['vm-selectors', 'standard']),
  spec('template-export', ['filename', 'template-uuid'], ['compress', 'metadata', 'progress'],
    'Export a template to an XVA file.', async () => (await xva()).templateExport),
  spec('snapshot-export-to-template', ['filename', 'snapshot-uuid'], ['compress', 'metadata', 'progress'],
    'Export a snapshot to an XVA file, which imports as a template.', async () => (await xva()).snapshotExport),
  spec('vm-import', ['filename'], ['sr-uuid', 'preserve', 'metadata', 'progress'],
    'Import a VM from an XVA file. Prints the new VM\'s UUID.', async () => (await xva()).vmImport),
  spec('vbd-create', ['vm-uuid', 'device'], ['vdi-uuid', 'bootable', 'type', 'mode', 'unpluggable'],
    'Create a VBD. Prints its UUID.', () => import('./commands/vbd-create.js')),
  spec('cd-list', [], ['params'], 'List the CDs (the disks of ISO SRs).', async () => (await cds()).cdList),
  spec('vm-cd-add', ['cd-name', 'device'], [], 'Add a CD drive holding the named CD to the selected VMs.', async () => (await cds()).vmCdAdd, ['vm-selectors', 'standard']),
  spec('vm-cd-insert', ['cd-name'], [], 'Insert the named CD into the selected VM\'s empty CD drive.', async () => (await cds()).vmCdInsert, ['vm-selectors', 'standard']),
  spec('vm-cd-eject', [], [], 'Eject the CD from the selected VM\'s CD drive.', async () => (await cds()).vmCdEject, ['vm-selectors', 'standard']),
  spec('vm-cd-remove', ['cd-name'], [], 'Remove the CD drives holding the named CD from the selected VMs.', async () => (await cds()).vmCdRemove, ['vm-selectors', 'standard']),
  spec('vm-cd-list', [], ['vbd-params', 'cd-params'], 'List the CD drives of the selected VMs and their CDs.', async () => (await cds()).vmCdList, ['vm-selectors', 'standard']),
  spec('vm-disk-list', [], ['vbd-params', 'vdi-params'], 'List the disk drives of the selected VMs and their disks.', async () => (await cds()).vmDiskList, ['vm-selectors', 'standard']),
  spec('vm-disk-add', ['disk-size', 'device'], ['sr-uuid'],
    'Add a new disk to the selected VMs, on sr-uuid or the pool\'s default SR. The device is one of the VM\'s allowed-VBD-devices.',
    async () => (await disks()).vmDiskAdd, ['vm-selectors', 'standard']),
  spec('vm-disk-remove', ['device'], [], 'Remove the disk at device from the selected VM and destroy it.', async () => (await disks()).vmDiskRemove, ['vm-selectors', 'standard']),
  spec('vm-vif-list', [], ['params'], 'List the VIFs of the selected VMs.', async () => (await cds()).vmVifList, ['vm-selectors', 'standard']),
  spec('vm-install', ['new-name-label'], ['sr-name-label', 'sr-uuid', 'template', 'template-uuid', 'template-name-label', 'copy-bios-strings-from'],
    'Install a new VM from a template. Prints its UUID.', () => import('./commands/vm-install.js')),
  spec('vm-snapshot', ['new-name-label'], ['new-name-description', 'ignore-vdi-uuids'],
    'Snapshot the selected VM (its disks share blocks with the VM). Prints the snapshot\'s UUID.', async () => (await copies()).vmSnapshot, ['vm-selectors', 'standard']),
  spec('vm-clone', ['new-name-label'], ['new-name-description'],
    'Clone the selected VM (its disks share blocks with the original). Prints the new UUID.', async () => (await copies()).vmClone, ['vm-selectors', 'standard']),
  spec('vm-copy', ['new-name-label'], ['new-name-description', 'sr-uuid'],
    'Copy the selected VM with full copies of its disks. Prints the new UUID.', async () => (await copies()).vmCopy, ['vm-selectors', 'standard']),
  spec('vm-destroy', ['uuid'], [], 'Destroy a VM record (its disks are kept).', async () => (await snaps()).vmDestroy),
  spec('vm-uninstall', [], ['force'], 'Uninstall the selected VMs, their snapshots and the disks they own.', async () => (await uninst()).vmUninstall, ['vm-selectors', 'standard']),
  spec('template-uninstall', ['template-uuid'], ['force'], 'Uninstall a template and the disks it owns.', async () => (await uninst()).templateUninstall),
  spec('snapshot-revert', [], ['snapshot-uuid', 'uuid'], 'Revert the snapshot\'s VM to the snapshot.', async () => (await snaps()).snapshotRevert),
  spec('snapshot-destroy', [], ['snapshot-uuid', 'uuid'], 'Destroy a snapshot (its disks are kept).', async () => (await snaps()).snapshotDestroy),
  spec('snapshot-clone', ['new-name-label'], ['uuid', 'snapshot-uuid', 'new-name-description'],
    'Create a new template by cloning the snapshot, its disks sharing blocks with the snapshot\'s where the SR can. Prints its UUID.', async () => (await snaps()).snapshotClone),
  spec('snapshot-copy', ['new-name-label'], ['uuid', 'snapshot-uuid', 'new-name-description', 'sr-uuid'],
    'Create a new template by copying the snapshot, with whole copies of its disks (on sr-uuid, if given). Prints its UUID.', async () => (await snaps()).snapshotCopy),
  spec('snapshot-disk-list', [], ['uuid', 'snapshot-uuid', 'vbd-params', 'vdi-params'], 'List the disk drives of the snapshot and their disks.', async () => (await snaps()).snapshotDiskList),
  spec('snapshot-reset-powerstate', [], ['uuid', 'snapshot-uuid', 'force'],
    'Mark a suspended snapshot halted in the database only, giving up its memory image (it can no longer be resumed). Must be forced.',
    async () => (await snaps()).snapshotResetPowerstate),
  spec('snapshot-uninstall', [], ['snapshot-uuid', 'uuid', 'force'], 'Uninstall a snapshot and the disks it owns.', async () => (await snaps()).snapshotUninstall),
];
