/**
 * The actions XenCenter offers on a tree object (right-click menu and toolbar): each says
 * whether the object's state allows it and which XenAPI role it needs, and runs through
 * the pool's tasks so progress and errors come back the same way.
 */
import type { PoolStore } from './store';
import type { Kind } from './model';
import { isLive, naturalCompare } from './model';
import { denial } from './roles';

export interface ObjectAction {
  id: string;
  label: string;
  /** Why it cannot run now ('' when it can). */
  disabled: string;
  run: () => Promise<unknown>;
  submenu?: ObjectAction[];
}

export function objectActions(s: PoolStore, kind: Kind, ref: string): ObjectAction[] {
  const roleNote = (perm: string) => denial(s.role, perm);
  const allowed = (op: string, rec: any) => (rec?.allowed_operations ?? []).includes(op);
  const a = (id: string, label: string, perm: string, stateOk: boolean, stateWhy: string, run: () => Promise<unknown>): ObjectAction => ({
    id, label, disabled: roleNote(perm) || (stateOk ? '' : stateWhy), run,
  });
  if (kind === 'vm') {
    const vm = s.get('VM', ref);
    if (!vm) return [];
    const running = vm.power_state === 'Running';
    const targets = [...s.all('host').entries()]
      .filter(([h, rec]) => h !== vm.resident_on && isLive(s, rec) && rec.enabled)
      .sort((x, y) => naturalCompare(x[1].name_label, y[1].name_label));
    const migrate = a('migrate', 'Migrate to Server', 'VM.pool_migrate', running && targets.length > 0, running ? 'No other server can take it.' : 'The VM is not running.', async () => {});
    migrate.submenu = targets.map(([h, rec]) =>
      a(`migrate:${rec.name_label}`, String(rec.name_label), 'VM.pool_migrate', true, '', () => s.callAsync('VM.pool_migrate', undefined, ref, h, { live: 'true' })));
    return [
      a('start', 'Start', 'VM.start', vm.power_state === 'Halted', 'The VM is not halted.', () => s.callAsync('VM.start', undefined, ref, false, false)),
      a('shutdown', 'Shut Down', 'VM.clean_shutdown', running, 'The VM is not running.', () => s.callAsync('VM.clean_shutdown', undefined, ref)),
      a('reboot', 'Reboot', 'VM.clean_reboot', running, 'The VM is not running.', () => s.callAsync('VM.clean_reboot', undefined, ref)),
      migrate,
      a('snapshot', 'Take a Snapshot…', 'VM.snapshot', allowed('snapshot', vm) || vm.power_state !== 'Suspended', 'The VM cannot be snapshotted now.', async () => {}),
    ];
  }
  if (kind === 'host') {
    const h = s.get('host', ref);
    if (!h) return [];
    const live = isLive(s, h);
    const maintenance = !h.enabled;
    return [
      maintenance
        ? a('exit-maintenance', 'Exit Maintenance Mode', 'host.enable', live, 'The server is not reachable.', () => s.call('host.enable', ref))
        : a('enter-maintenance', 'Enter Maintenance Mode…', 'host.disable', live, 'The server is not reachable.', async () => {
          await s.call('host.disable', ref);
          try {
            await s.callAsync('host.evacuate', undefined, ref);
          } catch (e) {
            await s.call('host.enable', ref).catch(() => {});
            throw e;
          }
        }),
      a('host-reboot', 'Reboot', 'host.reboot', live && maintenance, 'Enter maintenance mode first.', () => s.callAsync('host.reboot', undefined, ref)),
    ];
  }
  return [];
}
