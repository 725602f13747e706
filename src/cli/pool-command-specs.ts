/**
 * @module
 * xe's pool membership and host power commands (`pool-join`, `pool-eject`,
 * `pool-designate-new-master`, `pool-recover-slaves`, `pool-emergency-*`, `host-reboot`,
 * `host-shutdown`, `host-restart-agent`), for the command table. The emergency commands
 * run on a member whose master may be gone, so they log in locally on it (`local`).
 */
import type { CommandSpec } from './command-table.js';

const load = () => import('./commands/pool-membership.js');

export const POOL_COMMANDS: readonly CommandSpec[] = [
  { name: 'pool-join', reqd: ['master-address', 'master-username', 'master-password'], optn: ['force'], flags: ['standard'],
    help: 'Instruct host to join an existing pool.', load },
  { name: 'pool-eject', reqd: ['host-uuid'], optn: ['force'], flags: ['standard'],
    help: 'Instruct host to leave an existing pool.', load },
  { name: 'pool-designate-new-master', reqd: ['host-uuid'], optn: [], flags: ['standard'],
    help: 'Request an orderly handover of the role of master to another host.', load },
  { name: 'pool-recover-slaves', reqd: [], optn: [], flags: ['standard'],
    help: 'Instruct slaves to reset master address and restart their toolstacks.', load },
  { name: 'pool-emergency-transition-to-master', reqd: [], optn: [], flags: ['standard', 'local'],
    help: 'Instruct slave to become pool master.', load },
  { name: 'pool-emergency-reset-master', reqd: ['master-address'], optn: [], flags: ['standard', 'local'],
    help: 'Instruct slave to reset master address.', load },
  { name: 'host-reboot', reqd: [], optn: [], flags: ['standard', 'host-selectors'],
    help: 'Reboot the XE host. The host must be disabled first.', load },
  { name: 'host-shutdown', reqd: [], optn: [], flags: ['standard', 'host-selectors'],
    help: 'Shutdown the XE host. The host must be disabled first.', load },
  { name: 'host-restart-agent', reqd: [], optn: [], flags: ['host-selectors'],
    help: 'Restart the toolstack on the selected host; running VMs are not affected.', load },
];
