/**
 * The Snapshots tab, XenCenter's tree view: the VM at the root, each snapshot under the one
 * it was taken after (`VM.parent`), and "Now" under the snapshot the VM was last taken or
 * reverted from. Each node shows the space its disks hold. Take, Revert To (optionally
 * snapshotting the current state first), Delete (the snapshot and its disks; the others
 * are re-parented by the server) and Export of a snapshot's disk.
 */
import { useState, type FormEvent } from 'react';
import { Modal, TakeSnapshotDialog } from './dialogs';
import { formatBytes, naturalCompare, parseXapiDate } from './model';
import { denial } from './roles';
import type { PoolStore } from './store';
import { describeError, type XRecord } from './xapi';

const NULL = 'OpaqueRef:NULL';

interface SnapNode { ref: string; rec: XRecord; children: SnapNode[] }

function diskRefs(s: PoolStore, vm: XRecord): string[] {
  return ((vm.VBDs ?? []) as string[]).map((b) => s.get('VBD', b)).filter((b) => b && b.type === 'Disk' && b.VDI && b.VDI !== NULL).map((b) => String(b!.VDI));
}

export function snapshotSpace(s: PoolStore, snap: XRecord): number {
  return diskRefs(s, snap).reduce((n, v) => n + Number(s.get('VDI', v)?.physical_utilisation ?? 0), 0);
}

function buildSnapshotTree(s: PoolStore, vmRef: string): { roots: SnapNode[]; nowUnder: string | undefined } {
  const vm = s.get('VM', vmRef)!;
  const snaps = new Map<string, SnapNode>();
  for (const r of (vm.snapshots ?? []) as string[]) {
    const rec = s.get('VM', r);
    if (rec) snaps.set(r, { ref: r, rec, children: [] });
  }
  const roots: SnapNode[] = [];
  for (const n of snaps.values()) {
    const p = snaps.get(String(n.rec.parent));
    (p ? p.children : roots).push(n);
  }
  const byTime = (a: SnapNode, b: SnapNode) => String(a.rec.snapshot_time).localeCompare(String(b.rec.snapshot_time)) || naturalCompare(a.rec.name_label, b.rec.name_label);
  const sortAll = (ns: SnapNode[]) => { ns.sort(byTime); ns.forEach((n) => sortAll(n.children)); };
  sortAll(roots);
  return { roots, nowUnder: snaps.has(String(vm.parent)) ? String(vm.parent) : undefined };
}

function NodeView({ s, node, selected, onSelect, nowUnder }: { s: PoolStore; node: SnapNode; selected?: string; onSelect: (r: string) => void; nowUnder: string | undefined }) {
  return (
    <li role="treeitem" aria-selected={node.ref === selected} aria-expanded={node.children.length > 0 || nowUnder === node.ref} aria-label={String(node.rec.name_label)} data-snapshot={String(node.rec.name_label)}>
      <button type="button" className={`snap-node${node.ref === selected ? ' selected' : ''}`} onClick={() => onSelect(node.ref)}>
        <span className="snap-icon" aria-hidden="true" />
        <span className="snap-name">{node.rec.name_label}</span>
        <span className="snap-size muted">{formatBytes(snapshotSpace(s, node.rec))}</span>
      </button>
      {(node.children.length > 0 || nowUnder === node.ref) && (
        <ul role="group">
          {node.children.map((c) => <NodeView key={c.ref} s={s} node={c} selected={selected} onSelect={onSelect} nowUnder={nowUnder} />)}
          {nowUnder === node.ref && <NowNode />}
        </ul>
      )}
    </li>
  );
}

function NowNode() {
  return <li role="treeitem" aria-label="Now" data-snapshot="Now"><span className="snap-node now"><span className="now-icon" aria-hidden="true">▶</span>Now</span></li>;
}

export function SnapshotsTab({ s, vmRef, notify }: { s: PoolStore; vmRef: string; notify: (m: string, e?: boolean) => void }) {
  const vm = s.get('VM', vmRef)!;
  const [selected, setSelected] = useState<string | undefined>();
  const [dialog, setDialog] = useState<'take' | 'revert' | 'delete' | undefined>();
  const { roots, nowUnder } = buildSnapshotTree(s, vmRef);
  const sel = selected && s.get('VM', selected)?.is_a_snapshot ? selected : undefined;
  const selRec = sel ? s.get('VM', sel) : undefined;
  const why = (perm: string) => denial(s.role, perm);
  const firstDisk = selRec ? diskRefs(s, selRec)[0] : undefined;
  const exportHref = firstDisk ? `${s.origin}/export_raw_vdi?${new URLSearchParams({ session_id: s.session, vdi: firstDisk, format: 'raw' })}` : undefined;
  const busyText = Object.values(vm.current_operations ?? {}).includes('snapshot') ? 'Creating a snapshot…' : Object.values(vm.current_operations ?? {}).includes('revert') ? 'VM reverting…' : '';
  return (
    <div className="snapshots">
      <h3 className="pane-heading">Virtual Machine Snapshots</h3>
      <div className="toolbar-row">
        <button type="button" data-action="take-snapshot" disabled={Boolean(why('VM.snapshot'))} title={why('VM.snapshot') || 'Take Snapshot'} onClick={() => setDialog('take')}>Take Snapshot…</button>
        <button type="button" data-action="revert" disabled={!sel || Boolean(why('VM.revert'))} title={why('VM.revert') || 'Revert To'} onClick={() => setDialog('revert')}>Revert To…</button>
        <button type="button" data-action="delete-snapshot" className="danger" disabled={!sel || Boolean(why('VM.destroy'))} title={why('VM.destroy') || 'Delete'} onClick={() => setDialog('delete')}>Delete…</button>
        {exportHref ? <a className="button-link" href={exportHref} download={`${selRec?.name_label ?? 'snapshot'}.raw`}>Export Disk</a> : <button type="button" disabled>Export Disk</button>}
        {busyText && <span className="muted" role="status">{busyText}</span>}
      </div>
      <div className="snap-layout">
        <ul className="snap-tree" role="tree" aria-label="Snapshot tree">
          <li role="treeitem" aria-expanded="true" aria-label={String(vm.name_label)} data-snapshot="(base)">
            <span className="snap-node base"><span className="snap-vm" aria-hidden="true" />{vm.name_label}</span>
            <ul role="group">
              {roots.map((n) => <NodeView key={n.ref} s={s} node={n} selected={sel} onSelect={setSelected} nowUnder={nowUnder} />)}
              {!nowUnder && <NowNode />}
            </ul>
          </li>
        </ul>
        <aside className="snap-details" aria-label="Snapshot details">
          {selRec ? (
            <dl className="props">
              <div className="prop"><dt>Name</dt><dd>{selRec.name_label}</dd></div>
              <div className="prop"><dt>Created on</dt><dd>{parseXapiDate(selRec.snapshot_time)?.toLocaleString() ?? '—'}</dd></div>
              <div className="prop"><dt>Mode</dt><dd>{selRec.power_state === 'Suspended' ? 'Disks and memory' : 'Disks only'}</dd></div>
              <div className="prop"><dt>Description</dt><dd>{selRec.name_description || '—'}</dd></div>
              <div className="prop"><dt>Size</dt><dd>{formatBytes(snapshotSpace(s, selRec))}</dd></div>
            </dl>
          ) : <p className="muted">Select a snapshot to see its details.</p>}
        </aside>
      </div>
      {dialog === 'take' && <TakeSnapshotDialog vmRef={vmRef} onClose={() => setDialog(undefined)} notify={notify} />}
      {dialog === 'revert' && sel && <RevertDialog s={s} vmRef={vmRef} snap={sel} onClose={() => setDialog(undefined)} notify={notify} />}
      {dialog === 'delete' && sel && <DeleteSnapshotDialog s={s} snap={sel} onClose={() => { setDialog(undefined); setSelected(undefined); }} notify={notify} />}
    </div>
  );
}

function RevertDialog({ s, vmRef, snap, onClose, notify }: { s: PoolStore; vmRef: string; snap: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const [first, setFirst] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const rec = s.get('VM', snap);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      if (first) await s.callAsync('VM.snapshot', undefined, vmRef, `Before reverting to ${rec?.name_label ?? 'snapshot'}`);
      await s.callAsync('VM.revert', undefined, snap);
      notify(`Reverted to "${rec?.name_label}".`);
      onClose();
    } catch (err) { setError(describeError(err)); setBusy(false); }
  };
  return (
    <Modal title="Revert to Snapshot" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <p>Revert the VM to <strong>{String(rec?.name_label ?? '')}</strong>? Its current state is lost unless you take a snapshot of it first.</p>
        <label className="check"><input type="checkbox" checked={first} onChange={(e) => setFirst(e.target.checked)} /> Take a snapshot of the current state before reverting</label>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="submit" className="primary" disabled={busy}>Yes, Revert</button><button type="button" onClick={onClose}>Cancel</button></div>
      </form>
    </Modal>
  );
}

function DeleteSnapshotDialog({ s, snap, onClose, notify }: { s: PoolStore; snap: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const rec = s.get('VM', snap);
  const go = async () => {
    setBusy(true);
    try {
      const disks = rec ? diskRefs(s, rec) : [];
      await s.callAsync('VM.destroy', undefined, snap);
      for (const d of disks) await s.callAsync('VDI.destroy', undefined, d);
      notify(`Snapshot "${rec?.name_label}" deleted.`);
      onClose();
    } catch (err) { setError(describeError(err)); setBusy(false); }
  };
  return (
    <Modal title="Delete Snapshot" onClose={onClose}>
      <div className="form">
        <p>Delete the snapshot <strong>{String(rec?.name_label ?? '')}</strong> and its disks? This cannot be undone. Other snapshots are kept.</p>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="button" className="primary" disabled={busy} onClick={() => void go()}>Delete</button><button type="button" onClick={onClose}>Cancel</button></div>
      </div>
    </Modal>
  );
}
