/**
 * The console's frame: a toolbar, the navigation pane (search and Infrastructure tree) and
 * the object pane (title and tabs). The selection and open dialogs live here, outside the
 * mirror, so a reconnection keeps them.
 */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore, type KeyboardEvent, type ReactNode } from 'react';
import { objectActions, type ObjectAction } from './actions';
import { GeneralTab } from './GeneralTab';
import { ObjectIcon } from './Icons';
import { Login } from './Login';
import { ContextMenu } from './Menu';
import { buildTree, countKinds, filterTree, hostStatus, kindOfClass, poolStatus, srStatus, vmStatus, type Kind, type Status } from './model';
import { Tree } from './Tree';
import { store } from './store';
import { describeError } from './xapi';
import { TakeSnapshotDialog } from './dialogs';

export type TabId = 'general' | 'storage' | 'snapshots' | 'performance';
const TAB_TITLES: Record<TabId, string> = { general: 'General', storage: 'Storage', snapshots: 'Snapshots', performance: 'Performance' };

export interface TabRegistry {
  tabsFor: (kind: Kind) => TabId[];
  render: (tab: TabId, kind: Kind, ref: string, ctx: { installUpdate: () => void; notify: (m: string) => void }) => ReactNode;
}

/** Tabs other modules add (Storage, Snapshots, Performance), in XenCenter's order. */
export const extraTabs: Partial<Record<TabId, { kinds: Kind[]; render: TabRegistry['render'] }>> = {};

function tabsFor(kind: Kind): TabId[] {
  const order: TabId[] = ['general', 'storage', 'performance', 'snapshots'];
  return order.filter((t) => t === 'general' || extraTabs[t]?.kinds.includes(kind));
}

function statusOf(kind: Kind, ref: string): Status {
  switch (kind) {
    case 'pool': return poolStatus(store);
    case 'host': return hostStatus(store, ref, store.get('host', ref)!);
    case 'vm': return vmStatus(store.get('VM', ref)!);
    case 'sr': return srStatus(store, ref, store.get('SR', ref)!);
  }
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

export function App() {
  useSyncExternalStore(store.subscribe, store.getVersion);
  if (store.state === 'signed-out' || (store.state === 'connecting' && (!store.session || !store.roleKnown))) return <Login />;
  return <Console />;
}

/** Opens the Install Update wizard; set by the wizard module. */
export const wizardHook: { open?: (setOpen: (b: boolean) => void) => void; render?: (close: () => void) => ReactNode } = {};

function Console() {
  const version = useSyncExternalStore(store.subscribe, store.getVersion);
  const [selected, setSelected] = useState<string | undefined>();
  const [search, setSearch] = useState('');
  const [tabByKind, setTabByKind] = useState<Partial<Record<Kind, TabId>>>({});
  const [menu, setMenu] = useState<{ ref: string; x: number; y: number } | undefined>();
  const [dialog, setDialog] = useState<{ kind: 'snapshot'; ref: string } | undefined>();
  const [wizardOpen, setWizardOpen] = useState(false);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | undefined>();
  const [busy, setBusy] = useState<string[]>([]);

  const tree = useMemo(() => buildTree(store), [version]);
  const shown = useMemo(() => filterTree(tree, search.trim()), [tree, search]);
  const counts = useMemo(() => countKinds(tree), [tree]);
  const sel = selected && store.classOf(selected) ? selected : tree[0]?.ref;
  const kind = sel ? kindOfClass(store.classOf(sel)) : undefined;
  const tabs = kind ? tabsFor(kind) : [];
  const tab = kind && tabByKind[kind] && tabs.includes(tabByKind[kind]!) ? tabByKind[kind]! : 'general';
  const record = sel && kind ? store.get(kind === 'vm' ? 'VM' : kind === 'sr' ? 'SR' : kind, sel) : undefined;

  const notify = useCallback((text: string, error = false) => setNotice({ text, error }), []);
  const runAction = useCallback(async (a: ObjectAction, target: string) => {
    setMenu(undefined);
    if (a.disabled) return;
    if (a.id === 'snapshot') { setDialog({ kind: 'snapshot', ref: target }); return; }
    setBusy((b) => [...b, a.label]);
    notify(`${a.label}: in progress…`);
    try {
      await a.run();
      notify(`${a.label}: done.`);
    } catch (e) {
      notify(`${a.label} failed: ${describeError(e)}`, true);
    } finally {
      setBusy((b) => b.filter((x) => x !== a.label));
    }
  }, [notify]);

  const onTabKey = (e: KeyboardEvent) => {
    if (!kind) return;
    const i = tabs.indexOf(tab);
    let j = i;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = tabs.length - 1;
    else return;
    e.preventDefault();
    setTabByKind((t) => ({ ...t, [kind]: tabs[j] }));
    requestAnimationFrame(() => document.getElementById(`tab-${tabs[j]}`)?.focus());
  };

  const installUpdate = useCallback(() => setWizardOpen(true), []);
  const openMenu = useCallback((ref: string, x: number, y: number) => setMenu({ ref, x, y }), []);
  const actions = sel && kind ? objectActions(store, kind, sel) : [];

  return (
    <div className="app">
      <header className="toolbar" role="toolbar" aria-label="Main toolbar">
        <div className="brand"><span className="brand-mark" aria-hidden="true" />Islet Console</div>
        <div className="toolbar-actions">
          {actions.filter((a) => !a.submenu).map((a) => (
            <button key={a.id} type="button" data-action={a.id} disabled={Boolean(a.disabled)} title={a.disabled || a.label}
              onClick={() => sel && void runAction(a, sel)}>{a.label.replace('…', '')}</button>
          ))}
          <span className="sep" />
          <button type="button" data-action="install-update" disabled={store.role !== 'pool-admin' && store.role !== 'pool-operator'}
            title={store.role !== 'pool-admin' && store.role !== 'pool-operator' ? `Your role (${store.role}) may not install updates; it needs pool-operator.` : 'Install Update'}
            onClick={installUpdate}>Install Update…</button>
        </div>
        <div className="whoami">
          <span data-testid="whoami">{store.user}</span> <span className="role-badge" data-testid="role">{store.role}</span>
          <button type="button" className="link" onClick={() => void store.signOut()}>Log out</button>
        </div>
      </header>
      {store.state === 'reconnecting' && (
        <div className="banner" role="alert" data-testid="reconnecting">
          Connection to the pool coordinator lost ({store.lostReason}). Reconnecting…
        </div>
      )}
      <div className="panes">
        <nav className="nav-pane" aria-label="Navigation">
          <div className="search">
            <input type="search" placeholder="Search…" aria-label="Search the tree" value={search} onChange={(e) => setSearch(e.target.value)} />
          </div>
          <Tree roots={shown} selected={sel} onSelect={setSelected} searching={Boolean(search.trim())}
            onContextMenu={openMenu} />
          <div className="nav-footer">Infrastructure
            <span className="tree-counts" data-testid="tree-counts">
              {plural(counts.host, 'server', 'servers')}, {plural(counts.vm, 'VM', 'VMs')}, {plural(counts.sr, 'SR', 'SRs')}
            </span>
          </div>
        </nav>
        <main className="object-pane">
          {sel && kind && record ? (
            <>
              <div className="object-title">
                <ObjectIcon kind={kind} status={statusOf(kind, sel)} size={22} />
                <h2 data-testid="object-title">{String(record.name_label || '(unnamed)')}</h2>
                <span className="object-kind">{{ pool: 'Pool', host: 'Server', vm: 'Virtual Machine', sr: 'Storage Repository' }[kind]}</span>
              </div>
              <div className="tabs" role="tablist" aria-label="Object tabs" onKeyDown={onTabKey}>
                {tabs.map((t) => (
                  <button key={t} id={`tab-${t}`} role="tab" type="button" aria-selected={t === tab} aria-controls="tab-panel"
                    tabIndex={t === tab ? 0 : -1} className={t === tab ? 'tab active' : 'tab'}
                    onClick={() => setTabByKind((x) => ({ ...x, [kind]: t }))}>{TAB_TITLES[t]}</button>
                ))}
              </div>
              <div className="tab-panel" id="tab-panel" role="tabpanel" aria-labelledby={`tab-${tab}`} tabIndex={0}>
                {tab === 'general'
                  ? <GeneralTab s={store} kind={kind} ref_={sel} onInstallUpdate={installUpdate} />
                  : extraTabs[tab]?.render(tab, kind, sel, { installUpdate, notify })}
              </div>
            </>
          ) : (
            <div className="empty-pane">Nothing selected.</div>
          )}
        </main>
      </div>
      <footer className="statusbar" role="status" aria-live="polite">
        <span className={notice?.error ? 'tone-bad' : undefined} data-testid="notice">{notice?.text ?? 'Ready'}</span>
        <span className="muted">{busy.length ? `${busy.length} running` : ''}</span>
        <span className="muted conn">{store.state === 'connected' ? `Connected to ${new URL(store.origin || location.origin).host}` : 'Reconnecting…'}</span>
      </footer>
      {menu && (
        <ContextMenu x={menu.x} y={menu.y} items={objectActions(store, kindOfClass(store.classOf(menu.ref)) ?? 'pool', menu.ref)}
          onPick={(a) => void runAction(a, menu.ref)} onClose={() => setMenu(undefined)} />
      )}
      {dialog?.kind === 'snapshot' && (
        <TakeSnapshotDialog vmRef={dialog.ref} onClose={() => setDialog(undefined)} notify={notify} />
      )}
      {wizardOpen && wizardHook.render?.(() => setWizardOpen(false))}
    </div>
  );
}

export function useKeyEscape(onEscape: () => void) {
  useEffect(() => {
    const k = (e: globalThis.KeyboardEvent) => { if (e.key === 'Escape') onEscape(); };
    document.addEventListener('keydown', k);
    return () => document.removeEventListener('keydown', k);
  }, [onEscape]);
}
