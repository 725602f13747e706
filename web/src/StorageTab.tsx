/**
 * The Storage tab. For an SR: its space as bars (physical size, utilisation, virtual
 * allocation and the thin over-commit ratio) and its disks, virtual against physical size,
 * with Add, Resize, Delete, Import and Export (with progress). For a host or the pool: the
 * SRs it sees, with the same bars. For a VM: its disks.
 */
import { useState, type FormEvent } from 'react';
import { Modal } from './dialogs';
import { formatBytes, naturalCompare } from './model';
import { denial } from './roles';
import type { PoolStore } from './store';
import type { Kind } from './model';
import { describeError, type XRecord } from './xapi';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function Bar({ value, max, label, over }: { value: number; max: number; label: string; over?: boolean }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className={`bar${over ? ' over' : ''}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} title={label}>
      <span style={{ width: `${pct}%` }} />
    </div>
  );
}

function SrSpace({ sr }: { sr: XRecord }) {
  const size = Number(sr.physical_size);
  const used = Number(sr.physical_utilisation);
  const alloc = Number(sr.virtual_allocation);
  const ratio = size > 0 ? alloc / size : 0;
  return (
    <div className="space-grid">
      <span>Size</span><Bar value={size} max={size} label={`Size ${formatBytes(size)}`} /><span>{formatBytes(size)}</span>
      <span>Utilisation</span><Bar value={used} max={size} label={`Utilisation ${formatBytes(used)} of ${formatBytes(size)}`} /><span>{formatBytes(used)} ({size ? Math.round((used / size) * 100) : 0}%)</span>
      <span>Virtual allocation</span><Bar value={alloc} max={Math.max(size, alloc)} over={alloc > size} label={`Virtual allocation ${formatBytes(alloc)}`} /><span>{formatBytes(alloc)}</span>
      <span>Over-commit</span><Bar value={ratio} max={Math.max(1, ratio)} over={ratio > 1} label={`Over-commit ratio ${ratio.toFixed(2)}`} /><span data-testid="overcommit">{ratio.toFixed(2)}×</span>
    </div>
  );
}

function vmsOf(s: PoolStore, vdi: XRecord): string {
  return ((vdi.VBDs ?? []) as string[]).map((b) => s.get('VM', s.get('VBD', b)?.VM)?.name_label).filter(Boolean).join(', ');
}

/** PUT /import_raw_vdi through XMLHttpRequest, whose upload events give the progress. */
function uploadRaw(s: PoolStore, vdi: string, file: File, onProgress: (f: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ session_id: s.session, vdi, format: 'raw' });
    xhr.open('PUT', `${s.origin}/import_raw_vdi?${q}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(xhr.responseText.trim() || `HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error('The upload was interrupted.'));
    xhr.send(file);
  });
}

type Dialog = { kind: 'add' } | { kind: 'resize'; vdi: string } | { kind: 'delete'; vdi: string } | { kind: 'import' };

function SrDisks({ s, srRef, notify }: { s: PoolStore; srRef: string; notify: (m: string, e?: boolean) => void }) {
  const sr = s.get('SR', srRef)!;
  const [selected, setSelected] = useState<string | undefined>();
  const [dialog, setDialog] = useState<Dialog | undefined>();
  const [progress, setProgress] = useState<number | undefined>();
  const vdis = ((sr.VDIs ?? []) as string[]).map((r) => [r, s.get('VDI', r)] as const).filter(([, v]) => v && !v.is_a_snapshot && v.managed !== false)
    .sort((a, b) => naturalCompare(String(a[1]!.name_label), String(b[1]!.name_label)));
  const sel = selected && s.get('VDI', selected) ? selected : undefined;
  const why = (perm: string) => denial(s.role, perm);
  const exportHref = sel ? `${s.origin}/export_raw_vdi?${new URLSearchParams({ session_id: s.session, vdi: sel, format: 'raw' })}` : undefined;
  return (
    <>
      <div className="toolbar-row">
        <button type="button" disabled={Boolean(why('VDI.create'))} title={why('VDI.create') || 'Add a virtual disk'} onClick={() => setDialog({ kind: 'add' })}>Add…</button>
        <button type="button" disabled={!sel || Boolean(why('VDI.resize'))} title={why('VDI.resize') || 'Resize'} onClick={() => sel && setDialog({ kind: 'resize', vdi: sel })}>Resize…</button>
        <button type="button" className="danger" disabled={!sel || Boolean(why('VDI.destroy'))} title={why('VDI.destroy') || 'Delete'} onClick={() => sel && setDialog({ kind: 'delete', vdi: sel })}>Delete…</button>
        <button type="button" disabled={Boolean(why('VDI.import'))} title={why('VDI.import') || 'Import a raw disk image'} onClick={() => setDialog({ kind: 'import' })}>Import…</button>
        {exportHref ? <a className="button-link" href={exportHref} download={`${s.get('VDI', sel!)?.name_label ?? 'disk'}.raw`}>Export</a> : <button type="button" disabled>Export</button>}
      </div>
      {progress !== undefined && <div className="progress-row"><progress max={1} value={progress} aria-label="Import progress" /> <span>{Math.round(progress * 100)}%</span></div>}
      <table className="grid" aria-label="Virtual disks">
        <thead><tr><th>Name</th><th>Description</th><th>Virtual size</th><th>Physical size</th><th>Virtual Machine</th></tr></thead>
        <tbody>
          {vdis.map(([ref, v]) => (
            <tr key={ref} className={ref === sel ? 'selected' : ''} aria-selected={ref === sel} tabIndex={0} data-vdi={String(v!.name_label)}
              onClick={() => setSelected(ref)} onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { setSelected(ref); e.preventDefault(); } }}>
              <td>{v!.name_label}</td><td>{v!.name_description}</td><td>{formatBytes(Number(v!.virtual_size))}</td>
              <td>{formatBytes(Number(v!.physical_utilisation))}</td><td>{vmsOf(s, v!)}</td>
            </tr>
          ))}
          {vdis.length === 0 && <tr><td colSpan={5} className="muted">No virtual disks.</td></tr>}
        </tbody>
      </table>
      {dialog?.kind === 'add' && <AddDisk s={s} srRef={srRef} onClose={() => setDialog(undefined)} notify={notify} />}
      {dialog?.kind === 'resize' && <ResizeDisk s={s} vdi={dialog.vdi} onClose={() => setDialog(undefined)} notify={notify} />}
      {dialog?.kind === 'delete' && <DeleteDisk s={s} vdi={dialog.vdi} onClose={() => setDialog(undefined)} notify={notify} />}
      {dialog?.kind === 'import' && <ImportDisk s={s} srRef={srRef} onClose={() => setDialog(undefined)} notify={notify} onProgress={setProgress} />}
    </>
  );
}

function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(MiB|MB|GiB|GB|M|G)?\s*$/i.exec(text);
  if (!m) return NaN;
  const n = Number(m[1]);
  return Math.round(n * (/^g/i.test(m[2] ?? 'G') ? GiB : MiB));
}

function AddDisk({ s, srRef, onClose, notify }: { s: PoolStore; srRef: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const [name, setName] = useState('New virtual disk');
  const [size, setSize] = useState('1 GiB');
  const [error, setError] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const bytes = parseSize(size);
    if (!name.trim()) return setError('Enter a name.');
    if (!Number.isFinite(bytes) || bytes <= 0) return setError('Enter a size such as 512 MiB or 2 GiB.');
    try {
      await s.callAsync('VDI.create', undefined, { name_label: name.trim(), name_description: '', SR: srRef, virtual_size: bytes, type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] });
      notify(`Disk "${name.trim()}" created.`);
      onClose();
    } catch (err) { setError(describeError(err)); }
  };
  return (
    <Modal title="Add Virtual Disk" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>Name<input name="vdi-name" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Size<input name="vdi-size" value={size} onChange={(e) => setSize(e.target.value)} /></label>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="submit" className="primary">Add</button><button type="button" onClick={onClose}>Cancel</button></div>
      </form>
    </Modal>
  );
}

function ResizeDisk({ s, vdi, onClose, notify }: { s: PoolStore; vdi: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const v = s.get('VDI', vdi);
  const [size, setSize] = useState(`${Math.round(Number(v?.virtual_size ?? 0) / MiB)} MiB`);
  const [error, setError] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const bytes = parseSize(size);
    if (!Number.isFinite(bytes) || bytes <= 0) return setError('Enter a size such as 512 MiB or 2 GiB.');
    try {
      await s.callAsync('VDI.resize', undefined, vdi, bytes);
      notify(`Disk "${v?.name_label}" resized.`);
      onClose();
    } catch (err) { setError(describeError(err)); }
  };
  return (
    <Modal title="Resize Virtual Disk" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>New size<input name="vdi-size" value={size} onChange={(e) => setSize(e.target.value)} /></label>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="submit" className="primary">Resize</button><button type="button" onClick={onClose}>Cancel</button></div>
      </form>
    </Modal>
  );
}

function DeleteDisk({ s, vdi, onClose, notify }: { s: PoolStore; vdi: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const v = s.get('VDI', vdi);
  const [error, setError] = useState('');
  const go = async () => {
    try {
      await s.callAsync('VDI.destroy', undefined, vdi);
      notify(`Disk "${v?.name_label}" deleted.`);
      onClose();
    } catch (err) { setError(describeError(err)); }
  };
  return (
    <Modal title="Delete Virtual Disk" onClose={onClose}>
      <div className="form">
        <p>Delete <strong>{String(v?.name_label ?? '')}</strong>? Its contents are lost; this cannot be undone.</p>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="button" className="primary" onClick={() => void go()}>Delete</button><button type="button" onClick={onClose}>Cancel</button></div>
      </div>
    </Modal>
  );
}

function ImportDisk({ s, srRef, onClose, notify, onProgress }: { s: PoolStore; srRef: string; onClose: () => void; notify: (m: string, e?: boolean) => void; onProgress: (p: number | undefined) => void }) {
  const [file, setFile] = useState<File | undefined>();
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose a raw disk image.');
    if (file.size === 0 || file.size % 512 !== 0) return setError('A raw disk image is a whole number of 512-byte sectors.');
    setBusy(true);
    let vdi: string | undefined;
    try {
      const result = await s.callAsync('VDI.create', undefined, { name_label: name.trim() || file.name, name_description: `Imported from ${file.name}`, SR: srRef, virtual_size: file.size, type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] });
      vdi = /OpaqueRef:[^<]+/.exec(result)?.[0];
      if (!vdi) throw new Error('VDI.create gave no disk');
      onProgress(0);
      await uploadRaw(s, vdi, file, onProgress);
      notify(`Imported ${file.name}.`);
      onClose();
    } catch (err) {
      if (vdi) await s.call('VDI.destroy', vdi).catch(() => {});
      setError(describeError(err));
      setBusy(false);
    } finally {
      onProgress(undefined);
    }
  };
  return (
    <Modal title="Import Disk Image" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>Raw disk image<input type="file" name="disk-file" onChange={(e) => setFile(e.target.files?.[0])} /></label>
        <label>Name<input name="disk-name" value={name} placeholder={file?.name ?? ''} onChange={(e) => setName(e.target.value)} /></label>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons"><button type="submit" className="primary" disabled={busy}>{busy ? 'Importing…' : 'Import'}</button><button type="button" onClick={onClose}>Cancel</button></div>
      </form>
    </Modal>
  );
}

export function StorageTab({ s, kind, ref_, notify }: { s: PoolStore; kind: Kind; ref_: string; notify: (m: string, e?: boolean) => void }) {
  if (kind === 'sr') {
    const sr = s.get('SR', ref_)!;
    return (
      <>
        <section className="section" aria-label="Space"><h3 className="section-title">Space</h3><div className="props"><SrSpace sr={sr} /></div></section>
        <section className="section" aria-label="Virtual disks"><h3 className="section-title">Virtual Disks</h3><div className="props"><SrDisks s={s} srRef={ref_} notify={notify} /></div></section>
      </>
    );
  }
  if (kind === 'vm') {
    const vm = s.get('VM', ref_)!;
    const rows = ((vm.VBDs ?? []) as string[]).map((b) => s.get('VBD', b)).filter((b) => b && b.type === 'Disk');
    return (
      <table className="grid" aria-label="Virtual disks">
        <thead><tr><th>Position</th><th>Name</th><th>SR</th><th>Size</th><th>Read Only</th><th>Active</th></tr></thead>
        <tbody>
          {rows.map((b) => { const v = s.get('VDI', b!.VDI); return (
            <tr key={String(b!.uuid)}><td>{b!.userdevice}</td><td>{v?.name_label ?? '—'}</td><td>{s.get('SR', v?.SR)?.name_label ?? '—'}</td>
              <td>{formatBytes(Number(v?.virtual_size))}</td><td>{b!.mode === 'RO' ? 'Yes' : 'No'}</td><td>{b!.currently_attached ? 'Yes' : 'No'}</td></tr>); })}
          {rows.length === 0 && <tr><td colSpan={6} className="muted">No disks.</td></tr>}
        </tbody>
      </table>
    );
  }
  const srs = [...s.all('SR').entries()].filter(([, sr]) => kind === 'pool' || ((sr.PBDs ?? []) as string[]).some((p) => s.get('PBD', p)?.host === ref_))
    .sort((a, b) => naturalCompare(String(a[1].name_label), String(b[1].name_label)));
  return (
    <table className="grid" aria-label="Storage repositories">
      <thead><tr><th>Name</th><th>Type</th><th>Shared</th><th>Usage</th><th>Size</th><th>Virtual allocation</th></tr></thead>
      <tbody>
        {srs.map(([ref, sr]) => { const size = Number(sr.physical_size); const used = Number(sr.physical_utilisation); return (
          <tr key={ref}><td>{sr.name_label}</td><td>{sr.type}</td><td>{sr.shared ? 'Yes' : 'No'}</td>
            <td><div className="usage"><Bar value={used} max={size} label={`Usage of ${sr.name_label}`} /><span>{size ? Math.round((used / size) * 100) : 0}%</span></div></td>
            <td>{formatBytes(size)}</td><td>{formatBytes(Number(sr.virtual_allocation))}</td></tr>); })}
      </tbody>
    </table>
  );
}
