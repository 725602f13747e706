/** Registers the tabs beyond General with the frame, in XenCenter's order. */
import { extraTabs, wizardHook } from './App';
import { UpdateWizard } from './UpdateWizard';
import { PerformanceTab } from './PerformanceTab';
import { store } from './store';
import { StorageTab } from './StorageTab';
import { SnapshotsTab } from './SnapshotsTab';

extraTabs.performance = { kinds: ['host', 'vm', 'sr'], render: (_t, kind, ref) => <PerformanceTab key={ref} s={store} kind={kind} ref_={ref} /> };
extraTabs.storage = { kinds: ['pool', 'host', 'vm', 'sr'], render: (_t, kind, ref, ctx) => <StorageTab key={ref} s={store} kind={kind} ref_={ref} notify={ctx.notify} /> };
extraTabs.snapshots = { kinds: ['vm'], render: (_t, _kind, ref, ctx) => <SnapshotsTab key={ref} s={store} vmRef={ref} notify={ctx.notify} /> };
wizardHook.render = (close) => <UpdateWizard s={store} onClose={close} />;
