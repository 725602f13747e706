/**
 * @module
 * What xe's records add to the datamodel, class by class: the xe class name, the fields
 * `<class>-list` shows by default and its built-in filters, xe's field order, which fields
 * xe treats as sets/maps, settable, addable or hidden, the few fields it renames
 * (`SR` → `sr-uuid`) and the ones it computes (`sr-name-label`, an SR's `host`). Every
 * datamodel field is still shown: those xe does not list follow xe's own, named by the
 * rule `_` → `-`. A class of the datamodel with no entry here has no xe commands.
 */
import { NOT_IN_DATABASE, type RefResolver, type Rec } from './ref-resolver.js';
import { renderDate } from './value-render.js';

export interface Row {
  readonly ref: string;
  readonly rec: Rec;
}

export interface DerivedField {
  readonly name: string;
  readonly shape?: 'scalar' | 'set';
  /** Classes to fetch before the value can be computed. */
  readonly loads: readonly string[];
  readonly get: (row: Row, res: RefResolver) => string;
  /** The members, for a set-shaped field. */
  readonly items?: (row: Row, res: RefResolver) => string[];
}

export interface ClassOverlay {
  /** The XenAPI class. */
  readonly api: string;
  /** The xe class name, as in `vm-list`. */
  readonly xe: string;
  readonly defaultParams: readonly string[];
  readonly defaultFilters?: ReadonlyArray<readonly [string, string]>;
  /** xe's fields in its record order. */
  readonly order?: readonly string[];
  /** Fields xe handles as sets or maps (S../M.. qualifiers, `:contains`/`:key` filters). */
  readonly multi?: readonly string[];
  readonly settable?: readonly string[];
  readonly addable?: readonly string[];
  /** Shown only when asked for by `param-get`. */
  readonly hidden?: readonly string[];
  /** Sets xe joins with `, ` rather than `; `. */
  readonly comma?: readonly string[];
  /** Datamodel field → xe name, where the `_` → `-` rule does not give xe's name. */
  readonly rename?: Readonly<Record<string, string>>;
  readonly derived?: readonly DerivedField[];
  /** Rewrites a scalar's rendered value (xe lower-cases VM power states). */
  readonly transform?: Readonly<Record<string, (s: string) => string>>;
  /**
   * The expression `<class>-list` always fetches with, whatever the filters (which then
   * apply to what it fetched): xe lists only the roles, not the permissions, this way.
   */
  readonly listWhere?: string;
}

const w = (s: string): string[] => s.split(/\s+/).filter(Boolean);

/** `<x>-name-label` computed from the reference field `field` of class `cls`. */
function nameOf(name: string, field: string, cls: string): DerivedField {
  return { name, loads: [cls], get: ({ rec }, r) => r.name(cls, rec[field]) };
}

const lower = (s: string): string => s.toLowerCase();
const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const vmLayout = {
  api: 'VM',
  order: w(`uuid name-label name-description user-version is-a-template is-default-template is-a-snapshot
    snapshot-of snapshots snapshot-time transportable-snapshot-id snapshot-info parent children is-control-domain
    power-state memory-actual memory-target memory-overhead memory-static-max memory-dynamic-max memory-dynamic-min
    memory-static-min suspend-VDI-uuid suspend-SR-uuid VCPUs-params VCPUs-max VCPUs-at-startup actions-after-shutdown
    actions-after-softreboot actions-after-reboot actions-after-crash console-uuids hvm nomigrate nested-virt platform
    numa-optimised numa-nodes numa-node-memory allowed-operations current-operations blocked-operations
    allowed-VBD-devices allowed-VIF-devices possible-hosts domain-type current-domain-type HVM-boot-policy
    HVM-boot-params HVM-shadow-multiplier NVRAM PV-kernel PV-ramdisk PV-args PV-legacy-args PV-bootloader
    PV-bootloader-args last-boot-CPU-flags last-boot-record resident-on affinity other-config dom-id recommendations
    xenstore-data ha-always-run ha-restart-priority blobs start-time install-time VCPUs-number VCPUs-utilisation
    os-version netbios-name PV-drivers-version PV-drivers-up-to-date memory disks VBDs networks services
    PV-drivers-detected other live guest-metrics-last-updated can-use-hotplug-vbd can-use-hotplug-vif cooperative
    tags appliance protection-policy is-snapshot-from-vmpp groups secureboot-certificates-state snapshot-schedule is-vmss-snapshot start-delay shutdown-delay
    order version generation-id hardware-platform-version has-vendor-device requires-reboot reference-label
    bios-strings pending-guidances vtpms pending-guidances-recommended pending-guidances-full`),
  multi: w(`VCPUs-params console-uuids platform numa-node-memory allowed-operations current-operations
    blocked-operations allowed-VBD-devices allowed-VIF-devices HVM-boot-params NVRAM other-config xenstore-data
    VCPUs-utilisation os-version netbios-name PV-drivers-version memory disks VBDs networks services other tags
    bios-strings`),
  settable: w(`name-label name-description user-version is-a-template is-default-template memory-static-max
    memory-dynamic-max memory-dynamic-min memory-static-min suspend-VDI-uuid suspend-SR-uuid VCPUs-max
    VCPUs-at-startup actions-after-shutdown actions-after-softreboot actions-after-reboot actions-after-crash
    domain-type HVM-boot-policy HVM-shadow-multiplier PV-kernel PV-ramdisk PV-args PV-legacy-args PV-bootloader
    PV-bootloader-args affinity ha-always-run ha-restart-priority appliance protection-policy groups snapshot-schedule start-delay
    shutdown-delay order has-vendor-device bios-strings`),
  addable: w('VCPUs-params platform blocked-operations HVM-boot-params NVRAM other-config xenstore-data tags'),
  hidden: w('transportable-snapshot-id nomigrate nested-virt NVRAM'),
  comma: ['tags'],
  rename: { suspend_VDI: 'suspend-VDI-uuid', suspend_SR: 'suspend-SR-uuid', consoles: 'console-uuids', domid: 'dom-id' },
  transform: { 'power-state': lower },
  derived: [
    viaRef('memory-actual', 'metrics', 'VM_metrics', 'memory_actual'),
    viaRef('VCPUs-number', 'metrics', 'VM_metrics', 'VCPUs_number'),
    viaRef('start-time', 'metrics', 'VM_metrics', 'start_time'),
    viaRef('install-time', 'metrics', 'VM_metrics', 'install_time'),
  ],
} as const;

export const overlays: readonly ClassOverlay[] = [
  {
    api: 'pool', xe: 'pool',
    defaultParams: w('uuid name-label name-description master default-SR'),
    order: w(`uuid name-label name-description master default-SR crash-dump-SR suspend-image-SR supported-sr-types
      other-config allowed-operations current-operations ha-enabled ha-configuration ha-statefiles
      ha-host-failures-to-tolerate ha-plan-exists-for ha-allow-overcommit ha-overcommitted
      ha-reboot-vm-on-internal-shutdown blobs wlb-url wlb-username wlb-enabled wlb-verify-cert igmp-snooping-enabled
      gui-config health-check-config vswitch-controller restrictions tags license-state ha-cluster-stack
      guest-agent-config cpu_info policy-no-vendor-device live-patching-disabled uefi-certificates
      custom-uefi-certificates tls-verification-enabled client-certificate-auth-enabled client-certificate-auth-name
      repositories repository-proxy-url repository-proxy-username https-only migration-compression coordinator-bias
      telemetry-frequency telemetry-next-collection last-update-sync update-sync-frequency update-sync-day
      update-sync-enabled auto-update-vm-secureboot-certificates recommendations ext-auth-cache-enabled
      ext-auth-cache-size ext-auth-cache-expiry license-server ssh-enabled ssh-enabled-timeout ssh-expiry
      console-idle-timeout ssh-auto-mode limit-console-sessions vm-console-idle-timeout`),
    multi: w(`other-config allowed-operations current-operations gui-config health-check-config tags
      guest-agent-config cpu_info repositories recommendations license-server`),
    settable: w(`name-label name-description default-SR crash-dump-SR suspend-image-SR ha-host-failures-to-tolerate
      ha-allow-overcommit ha-reboot-vm-on-internal-shutdown wlb-enabled wlb-verify-cert igmp-snooping-enabled
      policy-no-vendor-device live-patching-disabled uefi-certificates custom-uefi-certificates repositories
      https-only migration-compression coordinator-bias auto-update-vm-secureboot-certificates
      ext-auth-cache-enabled ext-auth-cache-size ext-auth-cache-expiry ssh-enabled-timeout console-idle-timeout
      ssh-auto-mode limit-console-sessions vm-console-idle-timeout`),
    addable: w('other-config gui-config health-check-config tags guest-agent-config repositories license-server'),
    hidden: w('vswitch-controller uefi-certificates custom-uefi-certificates'),
    comma: ['tags'],
  },
  {
    api: 'host', xe: 'host',
    defaultParams: w('uuid name-label name-description'),
    order: w(`uuid name-label name-description allowed-operations current-operations enabled display
      API-version-major API-version-minor API-version-vendor API-version-vendor-implementation logging
      suspend-image-sr-uuid crash-dump-sr-uuid software-version capabilities other-config cpu_info chipset-info
      hostname address https-only supported-bootloaders blobs memory-overhead memory-total memory-free
      memory-free-computed host-metrics-live patches updates ha-statefiles ha-network-peers external-auth-type
      external-auth-service-name external-auth-configuration edition license-server power-on-mode power-on-config
      local-cache-sr tags ssl-legacy guest_VCPUs_params virtual-hardware-platform-versions control-domain-uuid
      resident-vms updates-requiring-reboot features iscsi_iqn multipathing uefi-certificates numa-affinity-policy
      pending-guidances tls-verification-enabled last-software-update latest-synced-updates-applied
      pending-guidances-recommended pending-guidances-full last-update-hash ssh-enabled ssh-enabled-timeout
      ssh-expiry console-idle-timeout ssh-auto-mode max-cstate secure-boot ntp-mode ntp-custom-servers timezone`),
    multi: w(`allowed-operations current-operations API-version-vendor-implementation logging software-version
      capabilities other-config cpu_info chipset-info supported-bootloaders patches updates
      external-auth-configuration license-server power-on-config tags guest_VCPUs_params
      virtual-hardware-platform-versions resident-vms updates-requiring-reboot features ntp-custom-servers`),
    settable: w(`name-label name-description suspend-image-sr-uuid crash-dump-sr-uuid https-only ssl-legacy iscsi_iqn
      multipathing uefi-certificates numa-affinity-policy ssh-enabled-timeout console-idle-timeout ssh-auto-mode
      max-cstate ntp-mode ntp-custom-servers timezone`),
    addable: w('logging other-config tags guest_VCPUs_params'),
    hidden: ['uefi-certificates'],
    comma: w('patches updates tags ntp-custom-servers'),
    rename: {
      suspend_image_sr: 'suspend-image-sr-uuid', crash_dump_sr: 'crash-dump-sr-uuid',
      control_domain: 'control-domain-uuid', resident_VMs: 'resident-vms',
    },
    derived: [
      viaRef('memory-total', 'metrics', 'host_metrics', 'memory_total'),
      viaRef('memory-free', 'metrics', 'host_metrics', 'memory_free'),
      viaRef('host-metrics-live', 'metrics', 'host_metrics', 'live'),
    ],
  },
  { ...vmLayout, xe: 'vm', defaultParams: w('name-label uuid power-state'), defaultFilters: [['is-a-template', 'false']] },
  {
    ...vmLayout, xe: 'template', defaultParams: w('name-label name-description uuid'),
    defaultFilters: [['is-a-template', 'true'], ['is-a-snapshot', 'false']],
  },
  {
    // snapshot_of/snapshot_time are spelt with underscores in xe's own default list, so never
    // match. (is-vmss-snapshot joined that list with snapshot schedules, after 6.0.2.)
    ...vmLayout, xe: 'snapshot', defaultParams: w('name-label name-description uuid snapshot_of snapshot_time'),
    defaultFilters: [['is-a-snapshot', 'true']],
  },
  {
    api: 'SR', xe: 'sr',
    defaultParams: w('uuid name-label name-description host type content-type'),
    order: w(`uuid name-label name-description host allowed-operations current-operations VDIs PBDs virtual-allocation
      physical-utilisation physical-size type content-type shared introduced-by is-tools-sr other-config sm-config
      blobs local-cache-enabled tags clustered`),
    multi: w('allowed-operations current-operations VDIs PBDs other-config sm-config tags'),
    settable: w('name-label name-description shared'),
    addable: w('other-config tags'),
    comma: ['tags'],
    derived: [{
      name: 'host', loads: ['PBD', 'host'],
      get: ({ rec }, r) => {
        const pbds = Array.isArray(rec.PBDs) ? rec.PBDs : [];
        if (pbds.length > 1) return '<shared>';
        return r.name('host', pbds.length === 1 ? r.record('PBD', pbds[0])?.host : undefined);
      },
    }],
  },
  {
    api: 'VDI', xe: 'vdi',
    defaultParams: w('uuid name-label name-description virtual-size read-only sharable sr-uuid'),
    order: w(`uuid name-label name-description is-a-snapshot snapshot-of snapshots snapshot-time allowed-operations
      current-operations sr-uuid sr-name-label vbd-uuids crashdump-uuids virtual-size physical-utilisation location
      type sharable read-only storage-lock managed parent missing is-tools-iso other-config xenstore-data sm-config
      on-boot allow-caching metadata-latest metadata-of-pool tags cbt-enabled`),
    multi: w('allowed-operations current-operations vbd-uuids crashdump-uuids other-config xenstore-data sm-config tags'),
    settable: w('name-label name-description on-boot allow-caching'),
    addable: w('other-config tags'),
    comma: ['tags'],
    rename: { SR: 'sr-uuid', VBDs: 'vbd-uuids', crash_dumps: 'crashdump-uuids' },
    derived: [nameOf('sr-name-label', 'SR', 'SR')],
    transform: { type: capital },
  },
  {
    api: 'VBD', xe: 'vbd',
    defaultParams: w('uuid vm-uuid vm-name-label vdi-uuid device empty'),
    order: w(`uuid vm-uuid vm-name-label vdi-uuid vdi-name-label allowed-operations current-operations empty device
      userdevice bootable mode type unpluggable currently-attached attachable storage-lock status-code status-detail
      qos_algorithm_type qos_algorithm_params qos_supported_algorithms other-config io_read_kbs io_write_kbs`),
    multi: w('allowed-operations current-operations qos_algorithm_params qos_supported_algorithms other-config'),
    settable: w('userdevice bootable mode type unpluggable qos_algorithm_type'),
    addable: w('qos_algorithm_params other-config'),
    rename: { VM: 'vm-uuid', VDI: 'vdi-uuid' },
    derived: [nameOf('vm-name-label', 'VM', 'VM'), nameOf('vdi-name-label', 'VDI', 'VDI')],
  },
  {
    api: 'PBD', xe: 'pbd',
    defaultParams: w('uuid host-uuid sr-uuid device-config currently-attached'),
    order: w('uuid host-uuid host-name-label sr-uuid sr-name-label device-config currently-attached other-config'),
    multi: w('device-config other-config'),
    settable: [],
    addable: ['other-config'],
    rename: { host: 'host-uuid', SR: 'sr-uuid' },
    derived: [nameOf('host-name-label', 'host', 'host'), nameOf('sr-name-label', 'SR', 'SR')],
  },
  {
    api: 'task', xe: 'task',
    defaultParams: w('uuid name-label name-description status progress'),
    order: w(`uuid name-label name-description subtask_of subtasks resident-on status progress type result created
      finished error_info allowed_operations current_operations other-config`),
    multi: ['other-config'],
    settable: [],
    addable: ['other-config'],
  },
  {
    api: 'pool_patch', xe: 'patch',
    defaultParams: w('uuid name-label name-description size hosts after-apply-guidance'),
    order: w('uuid name-label name-description size hosts after-apply-guidance update'),
    multi: w('hosts after-apply-guidance'),
    settable: [],
    addable: [],
    comma: w('hosts after-apply-guidance'),
    rename: { pool_update: 'update' },
    derived: [{
      name: 'hosts', shape: 'set', loads: ['host_patch', 'host'],
      get: (row, r) => patchHosts(row, r).join(', '),
      items: patchHosts,
    }],
  },
  {
    api: 'pool_update', xe: 'update',
    defaultParams: w('uuid name-label name-description version installation-size hosts after-apply-guidance'),
    order: w('uuid name-label name-description version installation-size hosts after-apply-guidance enforce-homogeneity'),
    multi: w('hosts after-apply-guidance'),
    settable: [],
    addable: [],
    comma: w('hosts after-apply-guidance'),
  },
  {
    api: 'message', xe: 'message', defaultParams: [],
    order: w('uuid name priority class obj-uuid timestamp body'),
    multi: [], settable: [], addable: [],
    rename: { cls: 'class' },
  },
  { api: 'subject', xe: 'subject', defaultParams: w('uuid subject-identifier other-config roles') },
  {
    // xe's role record has a name and a description, not name-label; the subroles of a
    // role run to a thousand permissions, so they show only when asked for by name.
    api: 'role', xe: 'role', defaultParams: w('uuid name description subroles'),
    order: w('uuid name description'),
    rename: { name_label: 'name', name_description: 'description' },
    hidden: w('subroles is-internal'),
    listWhere: 'subroles<>[]',
  },
  {
    api: 'VM_appliance', xe: 'appliance',
    defaultParams: w('uuid name-label name-description VMs allowed-operations current-operations'),
    order: w('uuid name-label name-description VMs allowed-operations current-operations'),
    multi: w('VMs allowed-operations current-operations'),
    settable: w('name-label name-description'),
  },
  {
    // xe 6.0.2's record of a protection policy; recent_alerts is not part of it.
    api: 'VMPP', xe: 'vmpp',
    defaultParams: w('uuid name-label name-description is-policy-enabled backup-type backup-frequency VMs'),
    order: w(`uuid name-label name-description is-policy-enabled backup-type backup-retention-value backup-frequency
      backup-schedule is-backup-running backup-last-run-time archive-target-type archive-target-config
      archive-frequency archive-schedule is-archive-running archive-last-run-time is-alarm-enabled alarm-config VMs`),
    multi: w('backup-schedule archive-target-config archive-schedule alarm-config VMs'),
    settable: w(`name-label name-description is-policy-enabled backup-type backup-retention-value backup-frequency
      archive-target-type archive-frequency is-alarm-enabled`),
    addable: w('backup-schedule archive-target-config archive-schedule alarm-config'),
    hidden: w('recent-alerts'),
  },
  { api: 'network', xe: 'network', defaultParams: w('uuid name-label name-description bridge') },
  {
    api: 'VIF', xe: 'vif', defaultParams: w('uuid device vm-uuid network-uuid'),
    rename: { VM: 'vm-uuid', network: 'network-uuid' },
    derived: [nameOf('vm-name-label', 'VM', 'VM'), nameOf('network-name-label', 'network', 'network')],
  },
  {
    api: 'PIF', xe: 'pif', defaultParams: w('uuid device VLAN MAC network-uuid currently-attached host-uuid'),
    rename: { network: 'network-uuid', host: 'host-uuid', ip_configuration_mode: 'IP-configuration-mode' },
    derived: [nameOf('network-name-label', 'network', 'network'), nameOf('host-name-label', 'host', 'host')],
  },
  { api: 'VLAN', xe: 'vlan', defaultParams: w('uuid tag tagged-PIF untagged-PIF') },
  { api: 'Bond', xe: 'bond', defaultParams: w('uuid master slaves mode') },
  {
    api: 'console', xe: 'console', defaultParams: w('uuid vm-uuid vm-name-label protocol location'),
    rename: { VM: 'vm-uuid' },
    derived: [nameOf('vm-name-label', 'VM', 'VM')],
  },
  { api: 'host_cpu', xe: 'host-cpu', defaultParams: w('uuid number vendor speed utilisation') },
  { api: 'host_crashdump', xe: 'host-crashdump', defaultParams: w('uuid host timestamp size') },
  { api: 'SM', xe: 'sm', defaultParams: w('uuid type name-label name-description vendor copyright configuration') },
  { api: 'secret', xe: 'secret', defaultParams: [] },
  { api: 'Certificate', xe: 'certificate', defaultParams: w('uuid type name host not-before not-after fingerprint purpose') },
  { api: 'Feature', xe: 'feature', defaultParams: w('uuid name-label name-description enabled experimental version host-uuid'), rename: { host: 'host-uuid' } },
];

/** A field xe shows from a metrics object: `field` of the `cls` record that `refField` points to. */
function viaRef(name: string, refField: string, cls: string, field: string): DerivedField {
  return {
    name, loads: [cls],
    get: ({ rec }, r) => {
      const m = r.record(cls, rec[refField]);
      if (!m) return NOT_IN_DATABASE;
      const v = m[field];
      return typeof v === 'string' && /^\d{8}T|^\d{4}-\d\d-\d\dT/.test(v) ? renderDate(v) : String(v ?? '');
    },
  };
}

/** A patch's hosts: the hosts of its host_patch records, as uuids. */
function patchHosts({ rec }: Row, r: RefResolver): string[] {
  const hps = Array.isArray(rec.host_patches) ? rec.host_patches : [];
  return hps.map((hp) => r.uuid('host', r.record('host_patch', hp)?.host));
}
