/**
 * The Infrastructure tree: a WAI-ARIA tree with one tab stop, arrow keys to move, expand
 * and collapse, Home/End, Enter to select, and the context-menu key (or Shift+F10, or a
 * right click) for the object's actions. While a search is typed every node is expanded.
 */
import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { ObjectIcon } from './Icons';
import type { TreeNode } from './model';

interface Props {
  roots: TreeNode[];
  selected: string | undefined;
  onSelect: (ref: string) => void;
  onContextMenu: (ref: string, x: number, y: number) => void;
  searching: boolean;
}

interface Row { node: TreeNode; depth: number; parent?: string; expanded: boolean }

function flatten(nodes: TreeNode[], collapsed: Set<string>, searching: boolean, depth = 0, parent?: string, out: Row[] = []): Row[] {
  for (const node of nodes) {
    const expanded = node.children.length > 0 && (searching || !collapsed.has(node.ref));
    out.push({ node, depth, expanded, ...(parent ? { parent } : {}) });
    if (expanded) flatten(node.children, collapsed, searching, depth + 1, node.ref, out);
  }
  return out;
}

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
      aria-level={depth + 1}
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
});

export function Tree({ roots, selected, onSelect, onContextMenu, searching }: Props) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [focus, setFocus] = useState<string | undefined>(selected);
  const rows = useMemo(() => flatten(roots, collapsed, searching), [roots, collapsed, searching]);
  const box = useRef<HTMLDivElement>(null);
  const focusRef = rows.some((r) => r.node.ref === focus) ? focus : (selected ?? rows[0]?.node.ref);

  useEffect(() => {
    if (!focusRef) return;
    document.getElementById(`tree-${focusRef}`)?.scrollIntoView({ block: 'nearest' });
  }, [focusRef]);

  const toggle = (ref: string) => setCollapsed((c) => {
    const n = new Set(c);
    if (n.has(ref)) n.delete(ref); else n.add(ref);
    return n;
  });
  const click = (ref: string) => { setFocus(ref); onSelect(ref); };

  const onKey = (e: KeyboardEvent) => {
    const i = rows.findIndex((r) => r.node.ref === focusRef);
    const row = rows[i];
    const go = (j: number) => { const r = rows[Math.max(0, Math.min(rows.length - 1, j))]; if (r) { setFocus(r.node.ref); onSelect(r.node.ref); } };
    switch (e.key) {
      case 'ArrowDown': go(i + 1); break;
      case 'ArrowUp': go(i - 1); break;
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

  return (
    <div
      ref={box}
      className="tree"
      role="tree"
      aria-label="Infrastructure"
      tabIndex={0}
      aria-activedescendant={focusRef ? `tree-${focusRef}` : undefined}
      onKeyDown={onKey}
    >
      {rows.map((r) => (
        <TreeRow key={r.node.ref} row={r} selected={r.node.ref === selected} focused={r.node.ref === focusRef}
          onClick={click} onToggle={toggle} onMenu={onContextMenu} />
      ))}
      {rows.length === 0 && <div className="tree-empty">No objects match.</div>}
    </div>
  );
}
