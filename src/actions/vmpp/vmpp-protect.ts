/**
 * @module
 * Running a protection policy. xapi 6.0.2 handed this to its `vmpr` plugin; here the same
 * work is done in the toolstack: every VM of the policy is snapshotted (or checkpointed,
 * for a `checkpoint` policy and a running VM) through the VM actions, the snapshot is
 * marked `is_snapshot_from_vmpp`, and the VM's oldest policy snapshots beyond
 * `backup_retention_value` are destroyed with their disks. Each outcome is an alert: the
 * policy's `recent_alerts` keeps the last ten, and a failure is also a XenAPI message on
 * the policy (as xapi's create_alert made only failures into messages), which is what
 * `get_alerts` reads back with the recent ones. Archiving needs a CIFS or NFS share
 * mounted on the host, which this system cannot do: it fails as the plugin did when the
 * target could not be mounted.
 */
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { ActionContext } from '../../core/action-context.js';
import { isNullRef, newRef, newUuid, parseXapiDate, xapiDate, type Ref } from '../../core/ref.js';
import { vmCheckpointActions } from '../vm/vm-checkpoint.js';
import { vmDiskActions } from '../vm/vm-disks.js';
import { destroyVdi } from '../vdi/vdi-ops.js';

export const EPOCH_DATE = '19700101T00:00:00Z';
/** Alerts the policy keeps in `recent_alerts`, newest first. */
const RECENT_ALERTS = 10;
/** xapi made an alert of this priority or above a message (a failure); below, a success. */
const FAILURE_PRIORITY = 5;
const SUCCESS_PRIORITY = 4;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Records an alert on the policy: in its recent alerts, and for a failure as a message. */
export function raiseAlert(ctx: ActionContext, vmpp: Ref<'VMPP'>, name: string, priority: number, body: string, detail: Record<string, string> = {}): void {
  const row = ctx.db.get('VMPP', vmpp);
  if (!row) return;
  const now = xapiDate(ctx.services.now());
  const fields = Object.entries({ name, time: now, ...detail }).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  const data = `<alert>${fields}</alert>`;
  ctx.db.transaction(() => {
    ctx.db.update('VMPP', vmpp, { recent_alerts: [data, ...(row.recent_alerts ?? [])].slice(0, RECENT_ALERTS) });
    if (priority >= FAILURE_PRIORITY) {
      ctx.db.create('message', newRef<'message'>(), {
        uuid: newUuid(), name, priority, cls: 'VMPP', obj_uuid: String(row.uuid), timestamp: now,
        body: `<message><email>${escapeXml(body)}</email><data>${data}</data></message>`,
      });
    }
  });
}

/** The name a policy snapshot gets: the VM's name and the time it was taken (server time). */
export function snapshotName(vmName: string, at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${vmName}-${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}-${two(at.getHours())}${two(at.getMinutes())}`;
}

async function destroySnapshot(ctx: ActionContext, snap: Ref<'VM'>): Promise<void> {
  const row = ctx.db.get('VM', snap);
  if (!row) return;
  const disks: Ref<'VDI'>[] = [];
  for (const vbd of row.VBDs ?? []) {
    const b = ctx.db.get('VBD', vbd);
    if (b && b.type === 'Disk' && !isNullRef(b.VDI)) disks.push(b.VDI);
  }
  await vmDiskActions.destroy(ctx, { self: snap });
  for (const vdi of disks) if (ctx.db.get('VDI', vdi)) await destroyVdi(ctx, vdi);
}

/** Destroys the VM's oldest policy snapshots until `keep` are left. */
export async function pruneSnapshots(ctx: ActionContext, vm: Ref<'VM'>, keep: number): Promise<void> {
  const mine = (ctx.db.get('VM', vm)?.snapshots ?? [])
    .map((s) => [s, ctx.db.get('VM', s)] as const)
    .filter(([, r]) => r?.is_snapshot_from_vmpp === true)
    .sort(([, a], [, b]) => parseXapiDate(String(a!.snapshot_time)).getTime() - parseXapiDate(String(b!.snapshot_time)).getTime());
  for (const [s] of mine.slice(0, Math.max(0, mine.length - keep))) await destroySnapshot(ctx, s);
}

async function protectVm(ctx: ActionContext, vm: Ref<'VM'>, checkpoint: boolean, retention: number): Promise<Ref<'VM'>> {
  const row = ctx.db.get('VM', vm);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VM', vm]);
  const name = snapshotName(String(row.name_label), ctx.services.now());
  const running = row.power_state === 'Running' || row.power_state === 'Paused';
  const snap = checkpoint && running
    ? await vmCheckpointActions.checkpoint(ctx, { vm, new_name: name })
    : await vmDiskActions.snapshot(ctx, { vm, new_name: name, ignore_vdis: [] });
  ctx.db.update('VM', snap, { is_snapshot_from_vmpp: true });
  await pruneSnapshots(ctx, vm, retention);
  return snap;
}

/**
 * Protects every VM of the policy now. A run already under way is not doubled: the call
 * records that as an alert, as the plugin's lock did. A VM that fails does not stop the
 * others; each failure is an alert.
 */
export async function protectNow(ctx: ActionContext, vmpp: Ref<'VMPP'>): Promise<string> {
  const row = ctx.db.get('VMPP', vmpp);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VMPP', vmpp]);
  if (row.is_backup_running) {
    raiseAlert(ctx, vmpp, 'VMPP_SNAPSHOT_LOCK_FAILED', FAILURE_PRIORITY, `The snapshots of policy ${String(row.name_label)} are already being taken.`);
    return 'lock failed';
  }
  ctx.db.update('VMPP', vmpp, { is_backup_running: true });
  const failed: string[] = [];
  try {
    for (const vm of row.VMs ?? []) {
      const vmUuid = String(ctx.db.get('VM', vm)?.uuid ?? vm);
      try {
        await protectVm(ctx, vm, row.backup_type === 'checkpoint', Number(row.backup_retention_value));
      } catch (e) {
        const err = toWireError(e);
        failed.push(vmUuid);
        raiseAlert(ctx, vmpp, 'VMPP_SNAPSHOT_FAILED', FAILURE_PRIORITY,
          `The snapshot of VM ${vmUuid} for policy ${String(row.name_label)} failed: ${[err.code, ...err.params].join(' ')}`,
          { vm: vmUuid, error: [err.code, ...err.params.map(String)].join(',') });
      }
    }
  } finally {
    if (ctx.db.get('VMPP', vmpp)) ctx.db.update('VMPP', vmpp, { is_backup_running: false, backup_last_run_time: xapiDate(ctx.services.now()) });
  }
  if (failed.length === 0) raiseAlert(ctx, vmpp, 'VMPP_SNAPSHOT_SUCCEEDED', SUCCESS_PRIORITY, `Policy ${String(row.name_label)} protected its VMs.`);
  if (row.archive_frequency === 'always_after_backup') await archivePolicy(ctx, vmpp).catch(() => undefined);
  return failed.length === 0 ? 'succeeded' : `failed: ${failed.join(',')}`;
}

/**
 * Archiving to the policy's target. With no target there is nothing to do. A CIFS or NFS
 * target would be mounted on the host and the snapshot exported to it; this system mounts
 * no shares, so the mount fails as it did in 6.0.2 for an unreachable target: an alert
 * VMPP_ARCHIVE_TARGET_MOUNT_FAILED on the policy, and the plugin's failure to the caller.
 */
async function archivePolicy(ctx: ActionContext, vmpp: Ref<'VMPP'>): Promise<string> {
  const row = ctx.db.get('VMPP', vmpp);
  if (!row || row.archive_target_type === 'none') return '';
  const location = String((row.archive_target_config ?? {}).location ?? '');
  ctx.db.update('VMPP', vmpp, { archive_last_run_time: xapiDate(ctx.services.now()) });
  raiseAlert(ctx, vmpp, 'VMPP_ARCHIVE_TARGET_MOUNT_FAILED', FAILURE_PRIORITY,
    `Could not mount the ${String(row.archive_target_type)} archive target ${location}: this system cannot mount network shares.`,
    { location });
  throw new ApiError('XENAPI_PLUGIN_FAILURE', ['fault', 'VMPP_ARCHIVE_TARGET_MOUNT_FAILED', `cannot mount ${String(row.archive_target_type)} share ${location}`]);
}

export function archiveNow(ctx: ActionContext, snapshot: Ref<'VM'>): Promise<string> {
  const snap = ctx.db.get('VM', snapshot);
  if (!snap) throw new ApiError('HANDLE_INVALID', ['VM', snapshot]);
  const policy = isNullRef(snap.snapshot_of) ? undefined : ctx.db.get('VM', snap.snapshot_of)?.protection_policy;
  if (!policy || isNullRef(policy) || !ctx.db.get('VMPP', policy)) return Promise.resolve('');
  return archivePolicy(ctx, policy);
}

/** A scheduled archive run: the same mount failure as archive_now, recorded as an alert only (no caller to answer). */
export async function archiveScheduled(ctx: ActionContext, vmpp: Ref<'VMPP'>): Promise<void> {
  await archivePolicy(ctx, vmpp).catch(() => undefined);
}

/** The policy's alerts (recent ones and failure messages) no older than `hours`, newest first. */
export function getAlerts(ctx: ActionContext, vmpp: Ref<'VMPP'>, hours: number): string[] {
  const row = ctx.db.get('VMPP', vmpp);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VMPP', vmpp]);
  const since = ctx.services.now().getTime() - hours * 3600_000;
  const timeOf = (data: string) => {
    const m = /<time>([^<]*)<\/time>/.exec(data);
    return m ? parseXapiDate(m[1]!).getTime() : 0;
  };
  const all = new Set<string>(row.recent_alerts ?? []);
  for (const [, m] of ctx.db.all('message')) {
    if (m.cls !== 'VMPP' || m.obj_uuid !== row.uuid) continue;
    const data = /<data>([\s\S]*)<\/data>/.exec(String(m.body));
    if (data) all.add(data[1]!);
  }
  return [...all].filter((d) => timeOf(d) >= since).sort((a, b) => timeOf(b) - timeOf(a));
}
