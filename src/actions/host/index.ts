/**
 * @module
 * host: every explicit message of the class, gathered from the modules that implement
 * them (domains, evacuation and memory from the VM side; restart, reboot and shutdown
 * from the lifecycle side; plugins and the smaller calls clients make; the toolstack's own
 * diagnostics and logging; the data sources it samples).
 */
import { joinActions, type ActionsOf } from '../../core/actions-of.js';
import { attachNewBlob } from '../blob/blob-records.js';
import { hostDiagnosticActions } from './host-diagnostics.js';
import { hostDomainActions } from './host-domains.js';
import { hostEvacuateActions } from './host-evacuate.js';
import { hostExtraActions } from './host-extras.js';
import { hostLoggingActions } from './host-logging.js';
import { hostLifecycleActions } from './host-lifecycle-actions.js';
import { hostManagementActions } from './host-management.js';
import { hostVmActions } from './host-vm-actions.js';
import { hostDataSourceActions } from './host-data-sources.js';
import { hostAdminActions } from './host-admin.js';
import { hostCachingActions } from './host-caching.js';
import { hostCaActions } from './host-ca-store.js';
import { hostServiceActions } from './host-services.js';

export const hostActions = joinActions('host', hostVmActions, hostLifecycleActions, hostExtraActions,
  hostEvacuateActions, hostDomainActions, hostManagementActions, hostDiagnosticActions, hostLoggingActions, hostDataSourceActions,
  hostAdminActions, hostCachingActions, hostServiceActions, hostCaActions,
  { create_new_blob: (ctx, a) => attachNewBlob(ctx, 'host', a.host, a) } satisfies ActionsOf<'host'>);
