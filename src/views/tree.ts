/**
 * Process trees grouped by context.  Pure: a snapshot in, trees out.
 *
 * A context's trees are made of its own processes only.  A process is a
 * root when its parent is absent from the snapshot or lives in another
 * context (the context's init, or whatever a `chcontext --ctx N` entered
 * from outside).  The context's PID 1 (ContextInfo.pid1) comes first among
 * the roots, then the other roots by host PID; children are ordered by host
 * PID.
 */
import type { ProcessInfo, Snapshot } from '../kernel-bridge/types.js';

/** one process and its same-context descendants */
export interface TreeNode {
  proc: ProcessInfo;
  children: TreeNode[];
  /** 0 for a root, parent's depth + 1 below */
  depth: number;
}

const byPid = (a: TreeNode, b: TreeNode): number => a.proc.pid - b.proc.pid;

/**
 * Builds the process trees of every context in the snapshot.
 * @returns a map from XID (ascending) to that context's root nodes
 */
export function buildContextTrees(snapshot: Snapshot, only?: number): Map<number, TreeNode[]> {
  const nodes = new Map<number, TreeNode>();
  for (const proc of snapshot.processes) if (only === undefined || proc.xid === only) nodes.set(proc.pid, { proc, children: [], depth: 0 });

  const pid1 = new Map<number, number>();
  for (const c of snapshot.contexts) if (c.pid1 > 0) pid1.set(c.xid, c.pid1);

  const roots = new Map<number, TreeNode[]>();
  for (const node of nodes.values()) {
    const parent = node.proc.ppid !== node.proc.pid ? nodes.get(node.proc.ppid) : undefined;
    if (parent && parent.proc.xid === node.proc.xid) {
      parent.children.push(node);
    } else {
      let list = roots.get(node.proc.xid);
      if (!list) roots.set(node.proc.xid, (list = []));
      list.push(node);
    }
  }

  const out = new Map<number, TreeNode[]>();
  for (const xid of [...roots.keys()].sort((a, b) => a - b)) {
    const list = roots.get(xid)!;
    const init = pid1.get(xid);
    list.sort((a, b) => {
      if (a.proc.pid === init) return -1;
      if (b.proc.pid === init) return 1;
      return a.proc.pid - b.proc.pid;
    });
    // Set depths and order children iteratively: trees can be deep.
    const stack: TreeNode[] = [...list];
    while (stack.length > 0) {
      const n = stack.pop()!;
      n.children.sort(byPid);
      for (const c of n.children) {
        c.depth = n.depth + 1;
        stack.push(c);
      }
    }
    out.set(xid, list);
  }
  return out;
}

/** the nodes in pre-order (each parent before its children, siblings in order) */
export function flattenTree(nodes: TreeNode[]): TreeNode[] {
  const out: TreeNode[] = [];
  const stack: TreeNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) stack.push(nodes[i]!);
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}
