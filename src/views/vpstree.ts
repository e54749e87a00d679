/**
 * vpstree: the process trees of each context, headed by `XID NAME`, drawn
 * with tree lines.  Each process shows its host PID, its PID inside the
 * context in brackets where that differs, and its command line (the
 * `[comm]` of a kernel thread).  Pure: trees in, text out.
 */
import type { ProcessInfo } from '../kernel-bridge/types.js';
import { displayName, rawContextName, type ContextNames } from './names.js';
import type { TreeNode } from './tree.js';

export interface TreeGlyphs {
  /** a child with siblings after it */
  tee: string;
  /** the last child */
  last: string;
  /** continuation below a child with siblings after it */
  pipe: string;
  /** nothing below the last child */
  blank: string;
}

export const UNICODE_GLYPHS: TreeGlyphs = { tee: '├─ ', last: '└─ ', pipe: '│  ', blank: '   ' };
export const ASCII_GLYPHS: TreeGlyphs = { tee: '|- ', last: '`- ', pipe: '|  ', blank: '   ' };

export interface VpstreeOptions {
  glyphs?: TreeGlyphs;
  /** cut every line to this many characters (a terminal's width); 0 = no limit */
  width?: number;
}

/** the text of one process: `PID [INNER] COMMAND` */
export function processLabel(p: ProcessInfo): string {
  const inner = p.innerPid !== null && p.innerPid !== p.pid ? ` [${p.innerPid}]` : '';
  const cmd = p.cmdline !== '' ? p.cmdline : `[${p.comm}]`;
  return `${p.pid}${inner} ${cmd}`;
}

function cut(line: string, width: number): string {
  return width > 0 && line.length > width ? line.slice(0, width) : line;
}

/**
 * One context's trees as lines (no heading): the roots are drawn as the
 * children of the context's heading line, so every process line starts
 * with a tree glyph and none can be mistaken for a heading.
 */
export function drawTrees(roots: TreeNode[], opts: VpstreeOptions = {}): string[] {
  const g = opts.glyphs ?? UNICODE_GLYPHS;
  const width = opts.width ?? 0;
  const lines: string[] = [];
  // Iterative pre-order; each entry carries its own lead and the prefix
  // its children inherit.
  const stack: { node: TreeNode; lead: string; childPrefix: string }[] = [];
  const pushChildren = (kids: TreeNode[], prefix: string): void => {
    for (let i = kids.length - 1; i >= 0; i--) {
      const isLast = i === kids.length - 1;
      stack.push({
        node: kids[i]!,
        lead: prefix + (isLast ? g.last : g.tee),
        childPrefix: prefix + (isLast ? g.blank : g.pipe),
      });
    }
  };
  pushChildren(roots, '');
  while (stack.length > 0) {
    const { node, lead, childPrefix } = stack.pop()!;
    lines.push(cut(lead + processLabel(node.proc), width));
    pushChildren(node.children, childPrefix);
  }
  return lines;
}

/** the heading line of a context: `XID NAME` (just `XID` for an anonymous one) */
export function contextHeading(xid: number, names: ContextNames): string {
  const name = displayName(xid, names, 'stat');
  return name === '' ? String(xid) : `${xid} ${name}`;
}

/**
 * Every context's trees, by ascending XID, each headed by `XID NAME`,
 * contexts separated by an empty line.
 */
export function formatVpstree(trees: Map<number, TreeNode[]>, names: ContextNames, opts: VpstreeOptions = {}): string {
  const blocks: string[] = [];
  for (const xid of [...trees.keys()].sort((a, b) => a - b)) {
    const lines = [cut(contextHeading(xid, names), opts.width ?? 0), ...drawTrees(trees.get(xid)!, opts)];
    blocks.push(lines.join('\n') + '\n');
  }
  return blocks.join('\n');
}

/** one process in `vpstree --json` */
export interface TreeProcessJson {
  pid: number;
  innerPid: number | null;
  ppid: number;
  state: string;
  comm: string;
  cmdline: string;
  children: TreeProcessJson[];
}

/** the `vpstree --json` document */
export interface VpstreeJson {
  contexts: { xid: number; name: string; trees: TreeProcessJson[] }[];
}

function nodeJson(n: TreeNode): TreeProcessJson {
  const p = n.proc;
  return {
    pid: p.pid,
    innerPid: p.innerPid,
    ppid: p.ppid,
    state: p.state,
    comm: p.comm,
    cmdline: p.cmdline,
    children: n.children.map(nodeJson),
  };
}

/** the trees as the `--json` document */
export function vpstreeJson(trees: Map<number, TreeNode[]>, names: ContextNames): VpstreeJson {
  return {
    contexts: [...trees.keys()]
      .sort((a, b) => a - b)
      .map((xid) => ({ xid, name: rawContextName(xid, names, 'stat'), trees: trees.get(xid)!.map(nodeJson) })),
  };
}
