/** Modal dialogs: focus moves in, Escape closes, the rest of the page is inert meanwhile. */
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { store } from './store';
import { describeError } from './xapi';

export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    (box.current?.querySelector('input, button, select, [tabindex="0"]') as HTMLElement | null)?.focus();
    const k = (e: KeyboardEvent) => { if (e.key === 'Escape') onClose(); };
    document.addEventListener('keydown', k);
    return () => { document.removeEventListener('keydown', k); before?.focus?.(); };
  }, [onClose]);
  return (
    <div className="modal-backdrop">
      <div ref={box} className={`modal${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-label={title}>
        <div className="modal-title">{title}<button type="button" className="close" aria-label="Close" onClick={onClose}>×</button></div>
        {children}
      </div>
    </div>
  );
}

export function TakeSnapshotDialog({ vmRef, onClose, notify }: { vmRef: string; onClose: () => void; notify: (m: string, e?: boolean) => void }) {
  const vm = store.get('VM', vmRef);
  const [name, setName] = useState(`${vm?.name_label ?? 'VM'} snapshot`);
  const [description, setDescription] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) { setError('Enter a name for the snapshot.'); return; }
    setBusy(true);
    try {
      const result = await store.callAsync('VM.snapshot', undefined, vmRef, name.trim());
      const ref = /OpaqueRef:[^<]+/.exec(result)?.[0];
      if (ref && description) await store.call('VM.set_name_description', ref, description);
      notify(`Snapshot "${name.trim()}" taken.`);
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="Take Snapshot" onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label>Name<input name="snapshot-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={255} /></label>
        <label>Description<input name="snapshot-description" value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <p className="muted">Snapshot mode: disks only.</p>
        {error && <div className="error" role="alert">{error}</div>}
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Taking snapshot…' : 'Take Snapshot'}</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}
