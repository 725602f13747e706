/**
 * @module
 * The VM calls that change its configuration (memory, CPUs, firmware) and the checks and
 * queries clients run before acting on it.
 */
import { createNewBlob } from './blob.js';
import { message, param, setter, t } from './dsl.js';
import { domainType, onCrashBehaviour, vmOperations } from './enums.js';

export const vmConfigMessages = [
  message('set_VCPUs_number_live', {
    doc: 'Changes the number of virtual CPUs of a running VM',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('nvcpu', t.int, 'The new number'),
    ],
    errors: ['OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION'],
    role: 'vm-admin',
    async: true,
  }),
  setter('VM', 'set_VCPUs_max', t.int, 'The new maximum', {
    doc: 'Sets the most virtual CPUs the VM may have; the VM must be halted',
    role: 'vm-admin',
  }),
  setter('VM', 'set_VCPUs_at_startup', t.int, 'The new count', {
    doc: 'Sets how many virtual CPUs the VM starts with',
    role: 'vm-admin',
  }),
  setter('VM', 'set_memory_dynamic_max', t.int, 'Bytes', {
    doc: 'Sets the top of the dynamic memory range',
    role: 'vm-power-admin',
  }),
  setter('VM', 'set_memory_dynamic_min', t.int, 'Bytes', {
    doc: 'Sets the bottom of the dynamic memory range',
    role: 'vm-power-admin',
  }),
  message('set_memory_dynamic_range', {
    doc: 'Sets both ends of the dynamic memory range',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('min', t.int, 'Bottom, in bytes'),
      param('max', t.int, 'Top, in bytes'),
    ],
    role: 'vm-power-admin',
    async: true,
  }),
  setter('VM', 'set_memory_static_max', t.int, 'Bytes', {
    doc: 'Sets the most memory the VM may have; the VM must be halted',
    errors: ['HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN'],
    role: 'vm-power-admin',
  }),
  setter('VM', 'set_memory_static_min', t.int, 'Bytes', {
    doc: 'Sets the least memory the VM may run with; the VM must be halted',
    role: 'vm-power-admin',
  }),
  message('set_memory_static_range', {
    doc: 'Sets both ends of the static memory range',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('min', t.int, 'Bottom, in bytes'),
      param('max', t.int, 'Top, in bytes'),
    ],
    role: 'vm-power-admin',
    async: true,
  }),
  message('set_memory_limits', {
    doc: 'Sets all four memory limits at once, keeping them ordered',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('static_min', t.int, 'Least memory ever, in bytes'),
      param('static_max', t.int, 'Most memory ever, in bytes'),
      param('dynamic_min', t.int, 'Bottom of the balloon range'),
      param('dynamic_max', t.int, 'Top of the balloon range'),
    ],
    role: 'vm-power-admin',
    async: true,
  }),
  setter('VM', 'set_memory', t.int, 'Bytes', {
    doc: 'Gives the VM a fixed amount of memory, setting all limits but the minimum',
    role: 'vm-power-admin',
    async: true,
  }),
  setter('VM', 'set_HVM_shadow_multiplier', t.float, 'The new multiplier', {
    doc: 'Sets the shadow memory scale of a halted VM',
    role: 'vm-power-admin',
  }),
  setter('VM', 'set_actions_after_crash', t.enum(onCrashBehaviour), 'The new behaviour', {
    doc: 'Chooses what happens when the guest crashes',
    role: 'vm-admin',
    async: true,
  }),
  setter('VM', 'set_ha_restart_priority', t.string, 'restart, best-effort or empty', {
    doc: 'Chooses whether and how eagerly HA restarts the VM',
    role: 'pool-operator',
  }),
  setter('VM', 'set_suspend_VDI', t.ref('VDI'), 'The new disk', {
    doc: 'Sets the disk holding a suspended VM\'s memory image',
    role: 'pool-operator',
    async: true,
  }),
  setter('VM', 'set_domain_type', t.enum(domainType), 'The new type', {
    doc: 'Chooses how the VM is virtualised; the VM must be halted',
    role: 'vm-admin',
  }),
  setter('VM', 'set_NVRAM', t.smap, 'The new store', {
    doc: 'Replaces the VM\'s firmware variable store',
    role: 'vm-admin',
  }),
  setter('VM', 'set_bios_strings', t.smap, 'The strings to set', {
    doc: 'Sets the BIOS identification the guest sees, once',
    errors: ['VM_BIOS_STRINGS_ALREADY_SET', 'INVALID_VALUE'],
    role: 'vm-admin',
    async: true,
  }),
  setter('VM', 'set_HVM_boot_policy', t.string, 'The policy; empty for a paravirtualised guest', {
    doc: 'Sets how an HVM guest boots, taking effect at its next start',
    role: 'vm-admin',
    async: true,
  }),
  setter('VM', 'set_ha_always_run', t.bool, 'Whether HA should keep the VM running', {
    doc: 'Sets whether HA restarts this VM (superseded by the HA restart priority)',
    role: 'pool-operator',
  }),
  message('copy_bios_strings', {
    doc: 'Gives the VM the BIOS identification of a host, once, and makes that host its affinity',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('host', t.ref('host'), 'The host whose strings to copy'),
    ],
    role: 'vm-admin',
    async: true,
  }),
  message('retrieve_wlb_recommendations', {
    doc: 'Asks workload balancing how well each host suits starting the VM, or why it cannot start there',
    params: [
      param('vm', t.ref('VM'), 'The VM to place'),
    ],
    result: t.map(t.ref('host'), t.set(t.string)),
    resultDoc: 'Per host, WLB\'s rating and its id, or an error and its reason',
    role: 'read-only',
    async: true,
  }),
  message('get_allowed_VBD_devices', {
    doc: 'Lists the disk slots still free on the VM',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    result: t.set(t.string),
    resultDoc: 'Free slot numbers',
    role: 'read-only',
  }),
  message('get_allowed_VIF_devices', {
    doc: 'Lists the network slots still free on the VM',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    result: t.set(t.string),
    resultDoc: 'Free slot numbers',
    role: 'read-only',
  }),
  message('get_possible_hosts', {
    doc: 'Lists the hosts the VM could start on now',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    result: t.set(t.ref('host')),
    resultDoc: 'Suitable hosts',
    role: 'read-only',
    async: true,
  }),
  message('assert_can_boot_here', {
    doc: 'Fails unless the VM could start on the given host now',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('host', t.ref('host'), 'The host to check'),
    ],
    errors: ['HOST_NOT_ENOUGH_FREE_MEMORY', 'HOST_NOT_ENOUGH_PCPUS', 'NETWORK_SRIOV_INSUFFICIENT_CAPACITY', 'HOST_NOT_LIVE', 'HOST_DISABLED', 'HOST_CANNOT_ATTACH_NETWORK', 'VM_HVM_REQUIRED', 'VM_REQUIRES_GPU', 'VM_REQUIRES_IOMMU', 'VM_REQUIRES_NETWORK', 'VM_REQUIRES_SR', 'VM_REQUIRES_VGPU', 'VM_HOST_INCOMPATIBLE_VERSION', 'VM_HOST_INCOMPATIBLE_VIRTUAL_HARDWARE_PLATFORM_VERSION', 'INVALID_VALUE', 'MEMORY_CONSTRAINT_VIOLATION', 'OPERATION_NOT_ALLOWED', 'VALUE_NOT_SUPPORTED', 'VM_INCOMPATIBLE_WITH_THIS_HOST'],
    role: 'read-only',
    async: true,
  }),
  message('assert_operation_valid', {
    doc: 'Fails unless the operation is allowed on the VM now',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('op', t.enum(vmOperations), 'The operation to check'),
    ],
    role: 'read-only',
    async: true,
  }),
  message('assert_agile', {
    doc: 'Fails unless the VM could run on any host, needing only shared storage and networks',
    params: [
      param('self', t.ref('VM'), 'The VM'),
    ],
    errors: ['HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED'],
    role: 'read-only',
    async: true,
  }),
  message('update_allowed_operations', {
    doc: 'Recomputes the operations allowed on the VM',
    params: [
      param('self', t.ref('VM'), 'The VM'),
    ],
    role: 'pool-admin',
    async: true,
  }),
  message('compute_memory_overhead', {
    doc: 'Works out the memory the hypervisor needs for this VM',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    result: t.int,
    resultDoc: 'Overhead in bytes',
    role: 'read-only',
    async: true,
  }),
  message('maximise_memory', {
    doc: 'Works out the most memory the VM could be given on its host',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('total', t.int, 'Memory the host could give'),
      param('approximate', t.bool, 'Whether a rough answer will do'),
    ],
    result: t.int,
    resultDoc: 'Memory in bytes',
    role: 'read-only',
    async: true,
  }),
  message('call_plugin', {
    doc: 'Runs a function of a plugin inside the guest agent\'s scope',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('plugin', t.string, 'Name of the plugin'),
      param('fn', t.string, 'Function within the plugin'),
      param('args', t.smap, 'Arguments for the function'),
    ],
    result: t.string,
    resultDoc: 'Whatever the plugin returns',
    role: 'vm-operator',
    async: true,
  }),
  createNewBlob('VM', 'vm', 'vm-power-admin'),
  message('send_sysrq', {
    doc: 'Sends a SysRq key to the guest kernel',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('key', t.string, 'The key to send'),
    ],
    errors: ['VM_BAD_POWER_STATE'],
    role: 'pool-admin',
    async: true,
  }),
  message('send_trigger', {
    doc: 'Sends a hardware trigger (such as power button) to the VM',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('trigger', t.string, 'The trigger to send'),
    ],
    errors: ['VM_BAD_POWER_STATE'],
    role: 'pool-admin',
    async: true,
  }),
];
