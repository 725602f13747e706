/**
 * @module
 * The snapshot forest of an SR as the garbage collector reasons about it, following sm's
 * cleanup rules: a hidden node is garbage when no visible node lies below it (so deleting
 * one snapshot can never take data another needs); a hidden node is coalesced into its
 * parent only when that parent has no other child; a visible leaf whose hidden parent has
 * no other child is leaf-coalesced. Work goes to the tallest trees first.
 */
import type { NodeInfo } from './sr-dir.js';

export class VdiTree {
  readonly byUuid = new Map<string, NodeInfo>();
  readonly children = new Map<string, NodeInfo[]>();

  constructor(nodes: readonly NodeInfo[]) {
    for (const n of nodes) this.byUuid.set(n.uuid, n);
    for (const n of nodes) {
      if (n.parentUuid === null) continue;
      const list = this.children.get(n.parentUuid) ?? [];
      list.push(n);
      this.children.set(n.parentUuid, list);
    }
  }

  childrenOf(uuid: string): NodeInfo[] {
    return this.children.get(uuid) ?? [];
  }

  parentOf(n: NodeInfo): NodeInfo | undefined {
    return n.parentUuid === null ? undefined : this.byUuid.get(n.parentUuid);
  }

  /** Layers from `uuid` up to its root, itself included (stops at a missing parent). */
  depth(uuid: string): number {
    let d = 0;
    const seen = new Set<string>();
    for (let n = this.byUuid.get(uuid); n && !seen.has(n.uuid); n = this.parentOf(n)) {
      seen.add(n.uuid);
      d++;
    }
    return d;
  }

  /** Nodes below `uuid` (not itself), any depth. */
  descendants(uuid: string): NodeInfo[] {
    const out: NodeInfo[] = [];
    const stack = [...this.childrenOf(uuid)];
    const seen = new Set<string>([uuid]);
    while (stack.length) {
      const n = stack.pop()!;
      // A parent loop in corrupt metadata must not make this walk endless.
      if (seen.has(n.uuid)) continue;
      seen.add(n.uuid);
      out.push(n);
      stack.push(...this.childrenOf(n.uuid));
    }
    return out;
  }

  /** Height of the subtree under `uuid` (a leaf has 1). */
  private height(uuid: string, memo: Map<string, number>): number {
    const known = memo.get(uuid);
    if (known !== undefined) return known;
    memo.set(uuid, 1); // cycle guard
    const h = 1 + Math.max(0, ...this.childrenOf(uuid).map((c) => this.height(c.uuid, memo)));
    memo.set(uuid, h);
    return h;
  }

  /** Hidden nodes with no visible node below them, deepest first (safe deletion order). */
  garbage(): NodeInfo[] {
    const needed = new Map<string, boolean>();
    const isNeeded = (n: NodeInfo): boolean => {
      const k = needed.get(n.uuid);
      if (k !== undefined) return k;
      needed.set(n.uuid, true); // cycle guard: never delete what we cannot reason about
      const v = !n.hidden || this.childrenOf(n.uuid).some(isNeeded);
      needed.set(n.uuid, v);
      return v;
    };
    const out = [...this.byUuid.values()].filter((n) => !isNeeded(n));
    return out.sort((a, b) => this.depth(b.uuid) - this.depth(a.uuid));
  }

  private rootOf(n: NodeInfo): NodeInfo {
    const seen = new Set<string>();
    let cur = n;
    for (let p = this.parentOf(cur); p && !seen.has(p.uuid); p = this.parentOf(cur)) {
      seen.add(cur.uuid);
      cur = p;
    }
    return cur;
  }

  private byTreeHeight(nodes: NodeInfo[]): NodeInfo[] {
    const memo = new Map<string, number>();
    return nodes.sort((a, b) => this.height(this.rootOf(b).uuid, memo) - this.height(this.rootOf(a).uuid, memo));
  }

  /** Hidden nodes with children whose hidden parent has no other child. */
  coalesceCandidates(): NodeInfo[] {
    const out = [...this.byUuid.values()].filter((n) => {
      const p = this.parentOf(n);
      return n.hidden && this.childrenOf(n.uuid).length > 0 && p !== undefined && p.hidden && this.childrenOf(p.uuid).length === 1;
    });
    return this.byTreeHeight(out);
  }

  /** Visible leaves whose hidden parent has no other child. */
  leafCoalesceCandidates(): NodeInfo[] {
    const out = [...this.byUuid.values()].filter((n) => {
      const p = this.parentOf(n);
      return !n.hidden && this.childrenOf(n.uuid).length === 0 && p !== undefined && p.hidden && this.childrenOf(p.uuid).length === 1;
    });
    return this.byTreeHeight(out);
  }

  /** Parents before children, then by uuid: a stable order for scan results. */
  ordered(): NodeInfo[] {
    const out: NodeInfo[] = [];
    const seen = new Set<string>();
    const visit = (n: NodeInfo): void => {
      if (seen.has(n.uuid)) return;
      seen.add(n.uuid);
      out.push(n);
      for (const c of this.childrenOf(n.uuid).sort((a, b) => a.uuid.localeCompare(b.uuid))) visit(c);
    };
    const roots = [...this.byUuid.values()].filter((n) => this.parentOf(n) === undefined).sort((a, b) => a.uuid.localeCompare(b.uuid));
    roots.forEach(visit);
    for (const n of this.byUuid.values()) visit(n);
    return out;
  }
}
