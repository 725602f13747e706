/**
 * The Infrastructure tree: a WAI-ARIA tree with one tab stop, arrow keys to move, expand
 * and collapse, Home/End, Enter to select, and the context-menu key (or Shift+F10, or a
 * right click) for the object's actions. While a search is typed every node is expanded.
 * A long tree (a pool of a thousand VMs) draws only the rows in view plus a margin, with
 * spacers for the rest, so its first render costs the same as a small pool's; each drawn
 * row says its place among its siblings (aria-posinset/setsize) for screen readers.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ObjectIcon } from './Icons';
import type { TreeNode } from './model';

interface Props {
  roots: TreeNode[];
  selected: string | undefined;
  onSelect: (ref: string) => void;
  onContextMenu: (ref: string, x: number, y: number) => void;
  searching: boolean;
}

interface Row { node: TreeNode; depth: number; parent?: string; expanded: boolean; pos: number; size: number }

function flatten(nodes: TreeNode[], collapsed: Set<string>, searching: boolean, depth = 0, parent?: string, out: Row[] = []): Row[] {
  nodes.forEach((node, i) => {
    const expanded = node.children.length > 0 && (searching || !collapsed.has(node.ref));
    out.push({ node, depth, expanded, pos: i + 1, size: nodes.length, ...(parent ? { parent } : {}) });
    if (expanded) flatten(node.children, collapsed, searching, depth + 1, node.ref, out);
  });
  return out;
}

/** Trees up to this many rows are drawn whole; longer ones only around the view. */
const WINDOW_FROM = 300;
/** Rows drawn beyond each edge of the view, so that scrolling shows no gap. */
const OVERSCAN = 20;

const TreeRow = memo(function TreeRow({ row, selected, focused, onClick, onToggle, onMenu }: {
  row: Row; selected: boolean; focused: boolean;
  onClick: (ref: string) => void; onToggle: (ref: string) => void; onMenu: (ref: string, x: number, y: number) => void;
}) {
  const { node, depth, expanded } = row;
  const hasKids = node.children.length > 0;
  return (
    <div
      role="treeitem"
      id={`tree-${node.ref}`}
      data-ref={node.ref}
      data-kind={node.kind}
      data-status={node.status}
      data-parent={row.parent}
      aria-level={depth + 1}
      aria-posinset={row.pos}
      aria-setsize={row.size}
      aria-selected={selected}
      aria-expanded={hasKids ? expanded : undefined}
      aria-label={`${node.name}`}
      className={`tree-row${selected ? ' selected' : ''}${focused ? ' focused' : ''}`}
      style={{ paddingLeft: 6 + depth * 16 }}
      onClick={() => onClick(node.ref)}
      onContextMenu={(e) => { e.preventDefault(); onClick(node.ref); onMenu(node.ref, e.clientX, e.clientY); }}
    >
      <span className="twisty" aria-hidden="true" onClick={(e) => { e.stopPropagation(); if (hasKids) onToggle(node.ref); }}>
        {hasKids ? (expanded ? '▾' : '▸') : ''}
      </span>
      <ObjectIcon kind={node.kind} status={node.status} />
      <span className="tree-label">{node.name}</span>
    </div>
  );
}, (a, b) => a.selected === b.selected && a.focused === b.focused && a.onClick === b.onClick && a.onToggle === b.onToggle
  && a.onMenu === b.onMenu && sameRow(a.row, b.row));

/** Rows are rebuilt on every change of the pool; a row redraws only when what it shows changed. */
function sameRow(a: Row, b: Row): boolean {
  return a.node.ref === b.node.ref && a.node.name === b.node.name && a.node.status === b.node.status
    && a.node.kind === b.node.kind && a.node.children.length === b.node.children.length
    && a.parent === b.parent && a.depth === b.depth && a.expanded === b.expanded && a.pos === b.pos && a.size === b.size;
}

export function Tree({ roots, selected, onSelect, onContextMenu, searching }: Props) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [focus, setFocus] = useState<string | undefined>(selected);
  const rows = useMemo(() => flatten(roots, collapsed, searching), [roots, collapsed, searching]);
  const box = useRef<HTMLDivElement>(null);
  const focusRef = rows.some((r) => r.node.ref === focus) ? focus : (selected ?? rows[0]?.node.ref);
  const windowed = rows.length > WINDOW_FROM;
  const [view, setView] = useState({ top: 0, height: 800 });
  const [rowHeight, setRowHeight] = useState(22);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || !windowed) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight || 800 });
    measure();
    const first = el.querySelector<HTMLElement>('[role=treeitem]');
    if (first?.offsetHeight) setRowHeight(first.offsetHeight);
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [windowed]);

  // The focused row is brought into view once, when the focus moves to it (or when it first
  // appears), not each time the rows change: every event from the server rebuilds them, and
  // a tree the user has scrolled away from the focus must stay where it was put.
  const shown = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!focusRef || shown.current === focusRef) return;
    const el = document.getElementById(`tree-${focusRef}`);
    if (el) {
      el.scrollIntoView({ block: 'nearest' });
      shown.current = focusRef;
      return;
    }
    // Not drawn (outside the window): bring its place into view, which draws it.
    const i = rows.findIndex((r) => r.node.ref === focusRef);
    const b = box.current;
    if (i >= 0 && b) {
      const y = i * rowHeight;
      if (y < b.scrollTop) b.scrollTop = y;
      else if (y + rowHeight > b.scrollTop + b.clientHeight) b.scrollTop = y + rowHeight - b.clientHeight;
      shown.current = focusRef;
    }
  }, [focusRef, rows, rowHeight]);

  const toggle = useCallback((ref: string) => setCollapsed((c) => {
    const n = new Set(c);
    if (n.has(ref)) n.delete(ref); else n.add(ref);
    return n;
  }), []);
  const click = useCallback((ref: string) => { setFocus(ref); onSelect(ref); }, [onSelect]);

  const onKey = (e: KeyboardEvent) => {
    const i = rows.findIndex((r) => r.node.ref === focusRef);
    const row = rows[i];
    const go = (j: number) => { const r = rows[Math.max(0, Math.min(rows.length - 1, j))]; if (r) { setFocus(r.node.ref); onSelect(r.node.ref); } };
    const page = Math.max(1, Math.floor((box.current?.clientHeight ?? 400) / rowHeight) - 1);
    switch (e.key) {
      case 'ArrowDown': go(i + 1); break;
      case 'ArrowUp': go(i - 1); break;
      case 'PageDown': go(i + page); break;
      case 'PageUp': go(i - page); break;
      case 'Home': go(0); break;
      case 'End': go(rows.length - 1); break;
      case 'ArrowRight':
        if (row && row.node.children.length && !row.expanded) toggle(row.node.ref);
        else if (row?.expanded) go(i + 1);
        break;
      case 'ArrowLeft':
        if (row?.expanded) toggle(row.node.ref);
        else if (row?.parent) go(rows.findIndex((r) => r.node.ref === row.parent));
        break;
      case 'Enter': case ' ': if (row) onSelect(row.node.ref); break;
      case 'ContextMenu': case 'F10': {
        if (e.key === 'F10' && !e.shiftKey) return;
        if (!row) return;
        const el = document.getElementById(`tree-${row.node.ref}`)?.getBoundingClientRect();
        onContextMenu(row.node.ref, (el?.left ?? 0) + 40, (el?.bottom ?? 0));
        break;
      }
      default: return;
    }
    e.preventDefault();
  };

  let from = 0;
  let to = rows.length;
  if (windowed) {
    from = Math.max(0, Math.floor(view.top / rowHeight) - OVERSCAN);
    to = Math.min(rows.length, Math.ceil((view.top + view.height) / rowHeight) + OVERSCAN);
  }
  const drawn = windowed ? rows.slice(from, to) : rows;

  return (
    <div
      ref={box}
      className="tree"
      role="tree"
      aria-label="Infrastructure"
      tabIndex={0}
      data-rows={rows.length}
      aria-activedescendant={focusRef && drawn.some((r) => r.node.ref === focusRef) ? `tree-${focusRef}` : undefined}
      onKeyDown={onKey}
      onScroll={windowed ? (e) => { const t = e.currentTarget; setView({ top: t.scrollTop, height: t.clientHeight }); } : undefined}
    >
      {windowed && from > 0 && <div aria-hidden="true" style={{ height: from * rowHeight }} />}
      {drawn.map((r) => (
        <TreeRow key={r.node.ref} row={r} selected={r.node.ref === selected} focused={r.node.ref === focusRef}
          onClick={click} onToggle={toggle} onMenu={onContextMenu} />
      ))}
      {windowed && to < rows.length && <div aria-hidden="true" style={{ height: (rows.length - to) * rowHeight }} />}
      {rows.length === 0 && <div className="tree-empty">No objects match.</div>}
    </div>
  );
}
