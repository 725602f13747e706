/** Registers the tabs beyond General with the frame, in XenCenter's order. */
import { extraTabs } from './App';
import { PerformanceTab } from './PerformanceTab';
import { store } from './store';

extraTabs.performance = { kinds: ['host', 'vm', 'sr'], render: (_t, kind, ref) => <PerformanceTab key={ref} s={store} kind={kind} ref_={ref} /> };
