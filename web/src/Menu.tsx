/** A context menu with menu/menuitem roles, arrow keys, Enter and Escape; disabled items say why. */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { ObjectAction } from './actions';

interface Props { x: number; y: number; items: ObjectAction[]; onPick: (a: ObjectAction) => void; onClose: () => void }

export function ContextMenu({ x, y, items, onPick, onClose }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState<string | undefined>();
  useEffect(() => {
    (box.current?.querySelector('[role=menuitem]') as HTMLElement | null)?.focus();
    const away = (e: MouseEvent) => { if (!box.current?.contains(e.target as Node)) onClose(); };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [onClose]);
  const onKey = (e: KeyboardEvent) => {
    const list = [...(box.current?.querySelectorAll<HTMLElement>(':scope > [role=menuitem]') ?? [])];
    const i = list.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown') list[(i + 1) % list.length]?.focus();
    else if (e.key === 'ArrowUp') list[(i - 1 + list.length) % list.length]?.focus();
    else if (e.key === 'Escape') onClose();
    else return;
    e.preventDefault();
    e.stopPropagation();
  };
  const left = Math.min(x, window.innerWidth - 240);
  const top = Math.min(y, window.innerHeight - 40 - items.length * 30);
  return (
    <div ref={box} className="menu" role="menu" style={{ left, top }} onKeyDown={onKey}>
      {items.map((it) => (
        <div key={it.id} role="menuitem" tabIndex={-1} aria-disabled={Boolean(it.disabled)} title={it.disabled || undefined}
          aria-haspopup={it.submenu ? 'menu' : undefined} data-action={it.id}
          className={`menu-item${it.disabled ? ' disabled' : ''}`}
          onMouseEnter={() => setOpen(it.submenu ? it.id : undefined)}
          onKeyDown={(e) => { if ((e.key === 'Enter' || e.key === 'ArrowRight') && it.submenu && !it.disabled) { setOpen(it.id); e.preventDefault(); } else if (e.key === 'Enter' && !it.disabled) { onPick(it); e.preventDefault(); } }}
          onClick={() => { if (it.submenu) setOpen(it.id); else if (!it.disabled) onPick(it); }}>
          {it.label}{it.submenu ? <span className="submenu-arrow" aria-hidden="true">▸</span> : null}
          {it.disabled && <span className="menu-why">{it.disabled}</span>}
          {open === it.id && it.submenu && !it.disabled && (
            <div className="menu submenu" role="menu">
              {it.submenu.map((sub) => (
                <div key={sub.id} role="menuitem" tabIndex={-1} data-action={sub.id} className="menu-item"
                  onClick={(e) => { e.stopPropagation(); onPick(sub); }}
                  onKeyDown={(e) => { if (e.key === 'Enter') { e.stopPropagation(); onPick(sub); } }}>{sub.label}</div>
              ))}
              {it.submenu.length === 0 && <div className="menu-item disabled">No servers available</div>}
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
