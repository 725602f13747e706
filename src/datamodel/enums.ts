/**
 * @module
 * The XenAPI enumerations the datamodel uses, with their values in XenAPI order. Each is
 * declared once here so that classes sharing one (vm_operations, storage_operations) agree.
 */
import { enumDecl } from './dsl.js';

export const messageCls = enumDecl('cls', ['VM', 'Host', 'SR', 'Pool', 'VMPP', 'VMSS', 'PVS_proxy', 'VDI', 'Certificate']);
export type MessageCls = (typeof messageCls.values)[number];
export const eventOperation = enumDecl('event_operation', ['add', 'del', 'mod']);
export type EventOperation = (typeof eventOperation.values)[number];
export const hostAllowedOperations = enumDecl('host_allowed_operations', ['provision', 'evacuate', 'shutdown', 'reboot', 'power_on', 'vm_start', 'vm_resume', 'vm_migrate', 'apply_updates', 'enable']);
export type HostAllowedOperations = (typeof hostAllowedOperations.values)[number];
export const hostDisplay = enumDecl('host_display', ['enabled', 'disable_on_reboot', 'disabled', 'enable_on_reboot']);
export type HostDisplay = (typeof hostDisplay.values)[number];
export const hostNumaAffinityPolicy = enumDecl('host_numa_affinity_policy', ['any', 'best_effort', 'default_policy']);
export type HostNumaAffinityPolicy = (typeof hostNumaAffinityPolicy.values)[number];
export const latestSyncedUpdatesAppliedState = enumDecl('latest_synced_updates_applied_state', ['yes', 'no', 'unknown']);
export type LatestSyncedUpdatesAppliedState = (typeof latestSyncedUpdatesAppliedState.values)[number];
export const poolAllowedOperations = enumDecl('pool_allowed_operations', ['ha_enable', 'ha_disable', 'cluster_create', 'designate_new_master', 'configure_repositories', 'sync_updates', 'get_updates', 'apply_updates', 'tls_verification_enable', 'cert_refresh', 'exchange_certificates_on_join', 'exchange_ca_certificates_on_join', 'copy_primary_host_certs', 'eject']);
export type PoolAllowedOperations = (typeof poolAllowedOperations.values)[number];
export const taskAllowedOperations = enumDecl('task_allowed_operations', ['cancel', 'destroy']);
export type TaskAllowedOperations = (typeof taskAllowedOperations.values)[number];
export const taskStatusType = enumDecl('task_status_type', ['pending', 'success', 'failure', 'cancelling', 'cancelled']);
export type TaskStatusType = (typeof taskStatusType.values)[number];
export const telemetryFrequency = enumDecl('telemetry_frequency', ['daily', 'weekly', 'monthly']);
export type TelemetryFrequency = (typeof telemetryFrequency.values)[number];
export const updateGuidances = enumDecl('update_guidances', ['reboot_host', 'reboot_host_on_livepatch_failure', 'reboot_host_on_kernel_livepatch_failure', 'reboot_host_on_xen_livepatch_failure', 'restart_toolstack', 'restart_device_model', 'restart_vm']);
export type UpdateGuidances = (typeof updateGuidances.values)[number];
export const updateSyncFrequency = enumDecl('update_sync_frequency', ['daily', 'weekly']);
export type UpdateSyncFrequency = (typeof updateSyncFrequency.values)[number];
