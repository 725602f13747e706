/**
 * The General tab for a pool, host, VM or SR, with the sections XenCenter builds for each;
 * the pool's Updates section states every hotfix as Fully / Partially / Not applied.
 */
import type { PoolStore } from './store';
import type { Kind } from './model';
import {
  appliedPatches, formatBytes, formatDuration, isLive, naturalCompare, parseXapiDate, patchRows, STATUS_TEXT, srStatus, vmStatus,
} from './model';
import { Prop, Section } from './Sections';
import type { XRecord } from './xapi';

interface Props { s: PoolStore; kind: Kind; ref_: string; onInstallUpdate: () => void }

const yesNo = (b: unknown) => (b ? 'Yes' : 'No');

function PoolGeneral({ s, ref_, onInstallUpdate }: Omit<Props, 'kind'>) {
  const pool = s.get('pool', ref_)!;
  const master = s.get('host', pool.master);
  const rows = patchRows(s);
  return (
    <>
      <Section title="General">
        <Prop k="Name">{pool.name_label || '(unnamed pool)'}</Prop>
        <Prop k="Description">{pool.name_description || '—'}</Prop>
        <Prop k="Coordinator">{master?.name_label ?? '—'}</Prop>
        <Prop k="Servers">{s.all('host').size}</Prop>
        <Prop k="Default SR">{s.get('SR', pool.default_SR)?.name_label ?? 'None'}</Prop>
        <Prop k="UUID">{pool.uuid}</Prop>
      </Section>
      <Section title="Version">
        <Prop k="Product version">{master?.software_version?.product_version ?? '—'}</Prop>
        <Prop k="Build number">{master?.software_version?.build_number ?? '—'}</Prop>
      </Section>
      <Section title="Updates" id="pool-updates">
        {rows.length === 0 && <Prop k="Updates">None uploaded</Prop>}
        {(['Fully applied', 'Partially applied', 'Not applied'] as const).map((label) => {
          const these = rows.filter((r) => r.status === label);
          if (!these.length) return null;
          return (
            <Prop key={label} k={label} tone={label === 'Partially applied' ? 'bad' : undefined}>
              <ul className="plain" data-status={label}>
                {these.map((r) => (
                  <li key={r.ref} data-update={r.name}>
                    <span className="update-name">{r.name}</span>
                    {r.status === 'Partially applied' && <span className="muted"> — not on {r.lacking.join(', ')}</span>}
                    {r.status !== 'Fully applied' && (
                      <> <button type="button" className="link" onClick={onInstallUpdate}>Install Update…</button></>
                    )}
                  </li>
                ))}
              </ul>
            </Prop>
          );
        })}
      </Section>
    </>
  );
}

function guidanceRows(s: PoolStore, ref: string, h: XRecord): string[] {
  const out: string[] = [];
  const boot = Number(h.other_config?.boot_time ?? 0);
  const agent = Number(h.other_config?.agent_start_time ?? 0);
  for (const hp of s.all('host_patch').values()) {
    if (hp.host !== ref || !hp.applied) continue;
    const p = s.get('pool_patch', hp.pool_patch);
    if (!p) continue;
    const at = (parseXapiDate(hp.timestamp_applied)?.getTime() ?? 0) / 1000;
    const g: string[] = p.after_apply_guidance ?? [];
    if (g.includes('restartHost') && at > boot) out.push(`${p.name_label}: ${h.name_label} must be rebooted for the update to take effect`);
    else if (g.includes('restartXAPI') && at > agent) out.push(`${p.name_label}: the toolstack on ${h.name_label} must be restarted for the update to take effect`);
  }
  return out.sort(naturalCompare);
}

function HostGeneral({ s, ref_ }: { s: PoolStore; ref_: string }) {
  const h = s.get('host', ref_)!;
  const m = s.get('host_metrics', h.metrics);
  const pool = [...s.all('pool').values()][0];
  const live = isLive(s, h);
  const now = Date.now() / 1000;
  const boot = Number(h.other_config?.boot_time ?? 0);
  const agent = Number(h.other_config?.agent_start_time ?? 0);
  const applied = [...appliedPatches(s, ref_)].map((p) => String(s.get('pool_patch', p)?.name_label ?? p)).sort(naturalCompare);
  const guidance = guidanceRows(s, ref_, h);
  return (
    <>
      <Section title="General">
        <Prop k="Name">{h.name_label}</Prop>
        <Prop k="Description">{h.name_description || '—'}</Prop>
        <Prop k="Pool coordinator">{yesNo(pool?.master === ref_)}</Prop>
        <Prop k="Enabled" tone={!live ? 'bad' : h.enabled ? undefined : 'warn'}>
          {!live ? 'Server is not reachable' : h.enabled ? 'Yes' : 'No (maintenance mode)'}
        </Prop>
        <Prop k="Address">{h.address || '—'}</Prop>
        <Prop k="iSCSI IQN">{h.other_config?.iscsi_iqn || '—'}</Prop>
        <Prop k="Server uptime">{boot ? formatDuration(now - boot) : '—'}</Prop>
        <Prop k="Toolstack uptime">{agent ? formatDuration(now - agent) : '—'}</Prop>
        <Prop k="UUID">{h.uuid}</Prop>
      </Section>
      <Section title="Memory">
        <Prop k="Server">{m ? `${formatBytes(Number(m.memory_total) - Number(m.memory_free))} used of ${formatBytes(Number(m.memory_total))}` : '—'}</Prop>
      </Section>
      <Section title="Version Details">
        <Prop k="Build date">{h.software_version?.date ?? '—'}</Prop>
        <Prop k="Build number">{h.software_version?.build_number ?? '—'}</Prop>
        <Prop k="Product version">{h.software_version?.product_version ?? '—'}</Prop>
      </Section>
      <Section title="CPUs">
        <Prop k="Count">{h.cpu_info?.cpu_count ?? '—'}</Prop>
        <Prop k="Model">{h.cpu_info?.modelname ?? '—'}</Prop>
      </Section>
      <Section title="Updates" id="host-updates">
        <Prop k="Applied">{applied.length ? <ul className="plain">{applied.map((a) => <li key={a}>{a}</li>)}</ul> : 'None'}</Prop>
        {guidance.map((g) => <Prop key={g} k="Restart required" tone="warn">{g}</Prop>)}
      </Section>
    </>
  );
}

function VmGeneral({ s, ref_ }: { s: PoolStore; ref_: string }) {
  const vm = s.get('VM', ref_)!;
  const metrics = s.get('VM_metrics', vm.metrics);
  const start = parseXapiDate(metrics?.start_time);
  const running = vm.power_state === 'Running';
  return (
    <>
      <Section title="General">
        <Prop k="Name">{vm.name_label}</Prop>
        <Prop k="Description">{vm.name_description || '—'}</Prop>
        {vm.is_a_snapshot && <Prop k="Snapshot of">{s.get('VM', vm.snapshot_of)?.name_label ?? '—'}</Prop>}
        <Prop k="Power state">{STATUS_TEXT[vmStatus(vm)]}</Prop>
        <Prop k="Virtualization mode">{vm.HVM_boot_policy ? 'HVM' : 'Paravirtualized (PV)'}</Prop>
        <Prop k="Time since startup">{running && start && start.getTime() > 0 ? formatDuration((Date.now() - start.getTime()) / 1000) : '—'}</Prop>
        <Prop k="Running on">{running ? s.get('host', vm.resident_on)?.name_label ?? '—' : '—'}</Prop>
        <Prop k="Home Server">{s.get('host', vm.affinity)?.name_label ?? 'None'}</Prop>
        <Prop k="UUID">{vm.uuid}</Prop>
      </Section>
      <Section title="CPUs and Memory">
        <Prop k="Virtual CPUs">{vm.VCPUs_at_startup}</Prop>
        <Prop k="Max number of vCPUs">{vm.VCPUs_max}</Prop>
        <Prop k="Memory">{formatBytes(Number(vm.memory_static_max))}</Prop>
      </Section>
    </>
  );
}

/** The SR type as its driver's SM record names it ("NetApp"), else as the SR has it. */
function smName(s: PoolStore, type: string): string {
  const sm = [...s.all('SM').values()].find((r) => r.type === type);
  return sm?.name_label ? String(sm.name_label) : type;
}

function SrGeneral({ s, ref_ }: { s: PoolStore; ref_: string }) {
  const sr = s.get('SR', ref_)!;
  const pbds = (sr.PBDs ?? []).map((p: string) => s.get('PBD', p)).filter(Boolean) as XRecord[];
  return (
    <>
      <Section title="General">
        <Prop k="Name">{sr.name_label}</Prop>
        <Prop k="Description">{sr.name_description || '—'}</Prop>
        <Prop k="Type">{smName(s, sr.type)}</Prop>
        <Prop k="Size">{`${formatBytes(Number(sr.physical_utilisation))} used of ${formatBytes(Number(sr.physical_size))} total (${formatBytes(Number(sr.virtual_allocation))} allocated)`}</Prop>
        <Prop k="Shared">{yesNo(sr.shared)}</Prop>
        <Prop k="State">{STATUS_TEXT[srStatus(s, ref_, sr)]}</Prop>
        <Prop k="UUID">{sr.uuid}</Prop>
      </Section>
      <Section title="Status">
        {pbds.length === 0 && <Prop k="Servers">Not attached to any server</Prop>}
        {pbds.map((p) => (
          <Prop key={p.uuid} k={String(s.get('host', p.host)?.name_label ?? 'server')} tone={p.currently_attached ? undefined : 'bad'}>
            {p.currently_attached ? 'Connected' : 'Unplugged'}
          </Prop>
        ))}
      </Section>
    </>
  );
}

export function GeneralTab({ s, kind, ref_, onInstallUpdate }: Props) {
  switch (kind) {
    case 'pool': return <PoolGeneral s={s} ref_={ref_} onInstallUpdate={onInstallUpdate} />;
    case 'host': return <HostGeneral s={s} ref_={ref_} />;
    case 'vm': return <VmGeneral s={s} ref_={ref_} />;
    case 'sr': return <SrGeneral s={s} ref_={ref_} />;
  }
}
