/**
 * XenCenter's Install Update wizard: Before You Start, Select Update (a `.xsupdate` or the
 * distribution `.zip`, or one already uploaded), Upload (with progress), Select Servers,
 * Prechecks (with Resolve where a fix exists, and Check Again), Update Mode (the rolling
 * update's dry-run plan with its estimate, or applying without restarts), Install (per-host
 * progress from the run record; Resume or Abort when a failure paused it, and after an abort
 * the servers left without the update). Its state lives in this component, so a reconnection
 * after the master's restart keeps it.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Modal } from './dialogs';
import { isLive, naturalCompare, patchRows } from './model';
import { denial } from './roles';
import type { PoolStore } from './store';
import { describeError, XapiError } from './xapi';

const PAGES = ['Before You Start', 'Select Update', 'Upload', 'Select Servers', 'Prechecks', 'Update Mode', 'Install Update'] as const;

interface Check { id: string; host: string; title: string; ok: boolean | undefined; detail: string; resolve?: { label: string; run: () => Promise<unknown> } }

function uploadPatch(s: PoolStore, file: File, onProgress: (f: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${s.origin}/pool_patch_upload?${new URLSearchParams({ session_id: s.session })}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      const text = xhr.responseText.trim();
      if (xhr.status >= 200 && xhr.status < 300 && /OpaqueRef:/.test(text)) return resolve(/OpaqueRef:[^<\s]+/.exec(text)![0]);
      const [code, ...params] = text.split(/\s+/);
      reject(new XapiError(code || `HTTP_${xhr.status}`, params));
    };
    xhr.onerror = () => reject(new Error('The upload was interrupted.'));
    xhr.send(file);
  });
}

export function UpdateWizard({ s, onClose }: { s: PoolStore; onClose: () => void }) {
  const [page, setPage] = useState(0);
  const [file, setFile] = useState<File | undefined>();
  const [existing, setExisting] = useState<string>('');
  const [selectError, setSelectError] = useState('');
  const [progress, setProgress] = useState(0);
  const [uploadError, setUploadError] = useState('');
  const [patch, setPatch] = useState<string | undefined>();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [checks, setChecks] = useState<Check[]>([]);
  const [checking, setChecking] = useState(false);
  const [mode, setMode] = useState<'automatic' | 'manual'>('automatic');
  const [plan, setPlan] = useState('');
  const [planError, setPlanError] = useState('');
  const [started, setStarted] = useState<number | undefined>();
  const [manualState, setManualState] = useState<Record<string, string>>({});
  const [installError, setInstallError] = useState('');

  const patchRec = patch ? s.get('pool_patch', patch) : undefined;
  const row = patchRows(s).find((r) => r.ref === patch);
  const hosts = useMemo(() => {
    const pool = [...s.all('pool').values()][0];
    return [...s.all('host').entries()].sort((a, b) => (a[0] === pool?.master ? -1 : b[0] === pool?.master ? 1 : naturalCompare(a[1].name_label, b[1].name_label)));
  }, [s, s.version]);
  const applied = (h: string) => [...s.all('host_patch').values()].some((hp) => hp.host === h && hp.pool_patch === patch && hp.applied);
  const lacking = hosts.filter(([h]) => !applied(h)).map(([h]) => h);
  const uploaded = patchRows(s).filter((r) => r.status !== 'Fully applied');

  // Select Update → Upload: an existing update skips the transfer.
  useEffect(() => {
    if (page !== 2 || patch) return;
    if (existing) { setPatch(existing); return; }
    if (!file) return;
    let cancelled = false;
    setUploadError('');
    setProgress(0);
    uploadPatch(s, file, (f) => !cancelled && setProgress(f))
      .then((ref) => { if (!cancelled) { setPatch(ref); setProgress(1); } })
      .catch(async (e) => {
        if (cancelled) return;
        if (e instanceof XapiError && e.code === 'PATCH_ALREADY_EXISTS' && e.params[0]) {
          try { setPatch(await s.call('pool_patch.get_by_uuid', e.params[0])); setProgress(1); return; } catch { /* reported below */ }
        }
        setUploadError(describeError(e));
      });
    return () => { cancelled = true; };
  }, [page, file, existing, patch, s]);

  useEffect(() => { if (patch) setSelected(new Set(lacking)); }, [patch]); // eslint-disable-line react-hooks/exhaustive-deps

  const runChecks = useCallback(async () => {
    if (!patch) return;
    setChecking(true);
    const guidance: string[] = s.get('pool_patch', patch)?.after_apply_guidance ?? [];
    const out: Check[] = [];
    // Asked afresh from the server, not the mirror: a Resolve just made may not have reached it yet.
    for (const [h] of hosts) {
      if (!selected.has(h)) continue;
      const rec = await s.call('host.get_record', h);
      const name = String(rec.name_label);
      const live = Boolean(s.get('host_metrics', rec.metrics)?.live ?? isLive(s, rec));
      out.push({ id: `live:${h}`, host: name, title: 'Server is reachable', ok: live, detail: live ? '' : `${name} is not reachable.` });
      out.push({ id: `enabled:${h}`, host: name, title: 'Server is not in maintenance mode', ok: Boolean(rec.enabled), detail: rec.enabled ? '' : `${name} is disabled (maintenance mode).`,
        ...(rec.enabled ? {} : { resolve: { label: 'Exit maintenance mode', run: () => s.call('host.enable', h) } }) });
      const pbds: Array<[string, any]> = await Promise.all(((rec.PBDs ?? []) as string[]).map(async (p) => [p, await s.call('PBD.get_record', p)] as [string, any]));
      const unplugged = pbds.filter(([, p]) => !p.currently_attached);
      out.push({ id: `pbd:${h}`, host: name, title: 'Storage is connected', ok: unplugged.length === 0,
        detail: unplugged.map(([, p]) => `${s.get('SR', p.SR)?.name_label ?? 'SR'} is not plugged`).join('; '),
        ...(unplugged.length ? { resolve: { label: 'Plug storage', run: async () => { for (const [p] of unplugged) await s.callAsync('PBD.plug', undefined, p); } } } : {}) });
      if (guidance.includes('restartHost') && live) {
        try {
          const blockers = await s.call('host.get_vms_which_prevent_evacuation', h) as Record<string, string[]>;
          const entries = Object.entries(blockers);
          const memory = entries.find(([, e]) => e[0] === 'HOST_NOT_ENOUGH_FREE_MEMORY');
          const vmName = (vm: string) => String(s.get('VM', vm)?.name_label ?? vm);
          out.push({ id: `evac:${h}`, host: name, title: 'VMs can be migrated off the server', ok: entries.length === 0,
            detail: entries.map(([vm, e]) => `${vmName(vm)}: ${e[0]}`).join('; '),
            ...(memory ? { resolve: { label: `Shut down ${vmName(memory[0])}`, run: () => s.callAsync('VM.clean_shutdown', undefined, memory[0]).catch(() => s.callAsync('VM.hard_shutdown', undefined, memory[0])) } } : {}) });
        } catch (e) {
          out.push({ id: `evac:${h}`, host: name, title: 'VMs can be migrated off the server', ok: false, detail: describeError(e) });
        }
      }
      if (live) {
        try {
          await s.callAsync('pool_patch.precheck', undefined, patch, h);
          out.push({ id: `pre:${h}`, host: name, title: 'Update prechecks', ok: true, detail: '' });
        } catch (e) {
          out.push({ id: `pre:${h}`, host: name, title: 'Update prechecks', ok: false, detail: describeError(e) });
        }
      }
    }
    setChecks(out);
    setChecking(false);
  }, [patch, hosts, selected, s]);

  useEffect(() => { if (page === 4) void runChecks(); }, [page]); // eslint-disable-line react-hooks/exhaustive-deps

  const allSelected = lacking.length > 0 && lacking.every((h) => selected.has(h));
  useEffect(() => {
    if (page !== 5 || !patch) return;
    if (!allSelected) setMode('manual');
    setPlan(''); setPlanError('');
    void (async () => {
      try {
        const update = await s.call('pool_patch.get_pool_update', patch);
        setPlan(String(await s.call('pool.islet_rolling_update', update, { dry_run: 'true' })));
      } catch (e) { setPlanError(describeError(e)); }
    })();
  }, [page]); // eslint-disable-line react-hooks/exhaustive-deps

  // The run this wizard started: the newest run record created since Install was pressed.
  const run = useMemo(() => {
    if (!started || !patch) return undefined;
    const runs = [...s.all('islet_rolling_update').entries()]
      .filter(([, r]) => Date.parse(String(r.created).replace(/^(\d{4})(\d{2})(\d{2})T/, '$1-$2-$3T')) >= started - 120_000)
      .sort((a, b) => String(b[1].created).localeCompare(String(a[1].created)));
    return runs[0];
  }, [s, s.version, started, patch]); // eslint-disable-line react-hooks/exhaustive-deps

  const install = async () => {
    if (!patch) return;
    setInstallError('');
    setStarted(Date.now());
    if (mode === 'automatic') {
      try {
        const update = await s.call('pool_patch.get_pool_update', patch);
        await s.call('Async.pool.islet_rolling_update', update, {});
      } catch (e) { setInstallError(describeError(e)); }
      return;
    }
    for (const [h, rec] of hosts) {
      if (!selected.has(h) || applied(h)) continue;
      setManualState((m) => ({ ...m, [h]: 'applying' }));
      try {
        await s.callAsync('pool_patch.apply', undefined, patch, h);
        setManualState((m) => ({ ...m, [h]: 'done' }));
      } catch (e) {
        setManualState((m) => ({ ...m, [h]: 'failed' }));
        setInstallError(`${rec.name_label}: ${describeError(e)}`);
        return;
      }
    }
  };

  const failures = checks.filter((c) => c.ok === false);
  const runStatus = run ? String(run[1].status) : undefined;
  const finished = mode === 'automatic' ? runStatus === 'done' : started !== undefined && hosts.every(([h]) => !selected.has(h) || applied(h));
  const canNext = [
    true,
    Boolean(file || existing) && !selectError,
    Boolean(patch),
    selected.size > 0,
    !checking && checks.length > 0 && failures.length === 0,
    mode === 'manual' || (Boolean(plan) && !planError),
    false,
  ][page];
  const roleWhy = denial(s.role, 'pool.rolling_update');

  const pickFile = (f: File | undefined) => {
    setFile(f); setExisting(''); setPatch(undefined); setSelectError('');
    if (f && !/\.(xsupdate|zip)$/i.test(f.name)) setSelectError(`${f.name} is not an update file: choose a .xsupdate file or the update's .zip.`);
  };

  const STEP_TEXT: Record<string, string> = {
    pending: 'Waiting', disable: 'Entering maintenance mode', evacuate: 'Migrating VMs off', apply: 'Installing update',
    restart: 'Restarting', wait: 'Waiting for the server to come back', enable: 'Exiting maintenance mode', return: 'Migrating VMs back',
    done: 'Done', skipped: 'Skipped (already up to date)',
  };

  return (
    <Modal title="Install Update" onClose={onClose} wide>
      <div className="wizard">
        <ol className="wizard-steps" aria-label="Wizard pages">
          {PAGES.map((p, i) => <li key={p} className={i === page ? 'current' : i < page ? 'past' : ''} aria-current={i === page ? 'step' : undefined}>{p}</li>)}
        </ol>
        <div className="wizard-page" role="region" aria-label={PAGES[page]}>
          <h2 className="wizard-title">{PAGES[page]}</h2>
          {page === 0 && (
            <div>
              <p>This wizard installs an update on the servers of the pool.</p>
              <ul>
                <li>Back up your data before you start.</li>
                <li>High availability must not be enabled.</li>
                <li>You must be a Pool Admin or Pool Operator (you are <strong>{s.role}</strong>).</li>
              </ul>
              {roleWhy && <div className="error" role="alert">{roleWhy}</div>}
            </div>
          )}
          {page === 1 && (
            <div className="form">
              <label>Update file (.xsupdate or .zip)<input type="file" name="update-file" accept=".xsupdate,.zip" onChange={(e) => pickFile(e.target.files?.[0])} /></label>
              {uploaded.length > 0 && (
                <label>Or an update already uploaded
                  <select value={existing} onChange={(e) => { setExisting(e.target.value); setFile(undefined); setPatch(undefined); setSelectError(''); }}>
                    <option value="">—</option>
                    {uploaded.map((u) => <option key={u.ref} value={u.ref}>{u.name} ({u.status})</option>)}
                  </select>
                </label>
              )}
              {selectError && <div className="error" role="alert">{selectError}</div>}
            </div>
          )}
          {page === 2 && (
            <div className="form">
              <p>{existing ? 'The update is already on the pool.' : `Uploading ${file?.name ?? ''} to the pool coordinator…`}</p>
              <progress max={1} value={progress} aria-label="Upload progress" />
              <span data-testid="upload-percent">{Math.round(progress * 100)}%</span>
              {patch && <p className="tone-ok" role="status">Uploaded: {String(patchRec?.name_label ?? '')} {patchRec?.name_description ? `— ${patchRec.name_description}` : ''}</p>}
              {uploadError && <div className="error" role="alert">The update was not accepted: {uploadError}</div>}
            </div>
          )}
          {page === 3 && (
            <div>
              <table className="grid" aria-label="Servers">
                <thead><tr><th /><th>Name</th><th>Notes</th></tr></thead>
                <tbody>
                  {hosts.map(([h, rec]) => {
                    const done = applied(h);
                    return (
                      <tr key={h}>
                        <td><input type="checkbox" aria-label={String(rec.name_label)} disabled={done} checked={selected.has(h)}
                          onChange={(e) => setSelected((sel) => { const n = new Set(sel); if (e.target.checked) n.add(h); else n.delete(h); return n; })} /></td>
                        <td>{rec.name_label}</td>
                        <td className="muted">{done ? 'Already applied' : h === [...s.all('pool').values()][0]?.master ? 'Coordinator (updated first)' : ''}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <div className="toolbar-row">
                <button type="button" onClick={() => setSelected(new Set(lacking))}>Select All</button>
                <button type="button" onClick={() => setSelected(new Set())}>Clear All</button>
              </div>
            </div>
          )}
          {page === 4 && (
            <div>
              <div className="toolbar-row">
                <button type="button" onClick={() => void runChecks()} disabled={checking}>Check Again</button>
                {checking && <span className="muted" role="status">Checking…</span>}
              </div>
              <table className="grid" aria-label="Prechecks">
                <thead><tr><th>Server</th><th>Check</th><th>Result</th><th /></tr></thead>
                <tbody>
                  {checks.map((c) => (
                    <tr key={c.id} data-check={c.id.split(':')[0]}>
                      <td>{c.host}</td><td>{c.title}</td>
                      <td className={c.ok ? 'tone-ok' : 'tone-bad'}>{c.ok ? 'Passed' : `Failed${c.detail ? `: ${c.detail}` : ''}`}</td>
                      <td>{!c.ok && c.resolve && (
                        <button type="button" onClick={async () => { try { await c.resolve!.run(); } catch (e) { setChecks((cs) => cs.map((x) => (x.id === c.id ? { ...x, detail: describeError(e) } : x))); return; } void runChecks(); }}>
                          Resolve: {c.resolve.label}</button>)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {page === 5 && (
            <div className="form">
              <label className="check"><input type="radio" name="mode" checked={mode === 'automatic'} disabled={!allSelected} onChange={() => setMode('automatic')} />
                Automatic: a rolling pool update (each server in turn, coordinator first: maintenance mode, VMs migrated off, update applied, restarted as needed, VMs returned)</label>
              <label className="check"><input type="radio" name="mode" checked={mode === 'manual'} onChange={() => setMode('manual')} />
                Manual: apply the update on the selected servers only; I will carry out the restarts myself</label>
              {mode === 'automatic' && (plan ? <pre className="plan" aria-label="Plan">{plan}</pre> : planError ? <div className="error" role="alert">{planError}</div> : <p className="muted">Planning…</p>)}
            </div>
          )}
          {page === 6 && (
            <div>
              {!started && <button type="button" className="primary" data-action="install" disabled={Boolean(roleWhy)} onClick={() => void install()}>Install Update</button>}
              {installError && <div className="error" role="alert">{installError}</div>}
              {mode === 'automatic' && run && (
                <>
                  <p data-testid="run-status">Rolling update: <strong>{runStatus}</strong></p>
                  <table className="grid" aria-label="Install progress">
                    <thead><tr><th>Server</th><th>Step</th></tr></thead>
                    <tbody>
                      {((run[1].hosts ?? []) as string[]).map((h) => {
                        const st = String(run[1].host_states?.[h] ?? 'pending');
                        // An aborted run leaves its last step in the record; the host is not going on with it.
                        const text = runStatus === 'aborted' && st !== 'done' && st !== 'skipped' ? 'Stopped (run aborted)' : STEP_TEXT[st] ?? st;
                        return <tr key={h} data-host={String(s.get('host', h)?.name_label ?? h)} data-step={st}><td>{s.get('host', h)?.name_label ?? h}</td><td>{text}</td></tr>;
                      })}
                    </tbody>
                  </table>
                  {runStatus === 'aborted' && (
                    <p className="tone-warn" role="status" data-testid="aborted-notice">
                      The rolling update was aborted. The update is not installed on:{' '}
                      {((run[1].hosts ?? []) as string[]).filter((h) => !['done', 'skipped'].includes(String(run[1].host_states?.[h] ?? 'pending')))
                        .map((h) => String(s.get('host', h)?.name_label ?? h)).join(', ')}.
                    </p>
                  )}
                  {runStatus === 'paused' && (
                    <div className="error" role="alert">
                      The update has not completed on all servers and has been paused: {((run[1].error_info ?? []) as string[]).join(' ')}
                      <div className="toolbar-row">
                        <button type="button" onClick={() => void s.call('pool.islet_rolling_update_resume', run[0]).catch((e) => setInstallError(describeError(e)))}>Resume</button>
                        <button type="button" onClick={() => void s.call('pool.islet_rolling_update_abort', run[0]).catch((e) => setInstallError(describeError(e)))}>Abort</button>
                      </div>
                    </div>
                  )}
                </>
              )}
              {mode === 'manual' && started && (
                <table className="grid" aria-label="Install progress">
                  <thead><tr><th>Server</th><th>Step</th></tr></thead>
                  <tbody>{hosts.filter(([h]) => selected.has(h)).map(([h, rec]) => <tr key={h} data-host={String(rec.name_label)}><td>{rec.name_label}</td><td>{applied(h) ? 'Done' : manualState[h] ?? 'Waiting'}</td></tr>)}</tbody>
                </table>
              )}
              {s.state === 'reconnecting' && <p className="tone-warn" role="status">Connection to the coordinator lost while it restarts; reconnecting…</p>}
              {finished && row && <p className="tone-ok" role="status" data-testid="final-status">{row.name}: {row.status}</p>}
            </div>
          )}
        </div>
      </div>
      <div className="wizard-buttons">
        <button type="button" disabled={page === 0 || page === 6} onClick={() => setPage((p) => p - 1)}>&lt; Previous</button>
        {page < 6 ? <button type="button" className="primary" disabled={!canNext} onClick={() => setPage((p) => p + 1)}>Next &gt;</button>
          : <button type="button" className="primary" disabled={!finished && Boolean(started) && runStatus !== 'paused' && runStatus !== 'aborted'} onClick={onClose}>Finish</button>}
        <button type="button" onClick={onClose}>Cancel</button>
      </div>
    </Modal>
  );
}
