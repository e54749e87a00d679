/**
 * XID -> display name, as util-vserver's tools name contexts.
 *
 * vserver-stat style: 0 `root server`, 1 `monitoring server`;
 * vps style: 0 `MAIN`, 1 `ALL_PROC`; servers by their name in both,
 * anonymous contexts (plain `chcontext`) by nothing.  Pure: the names of
 * servers come from the snapshot (ContextInfo.name), or from an optional
 * fallback map the caller read from the configuration.
 */
import type { Snapshot } from '../kernel-bridge/types.js';
import { escapeForTerminal } from './format.js';
import { CONTEXT_NAMES } from '../generated/tables.js';

export type NameStyle = 'stat' | 'vps';

/** the raw (unescaped) name of a context: '' when it has none */
export type ContextNames = ReadonlyMap<number, string>;

/**
 * Collects the server names of a snapshot's contexts, falling back to
 * `fallback` (e.g. S_CONTEXT -> NAME from the configuration) for contexts
 * the snapshot knows no name for.
 */
export function contextNames(snapshot: Snapshot, fallback?: ReadonlyMap<number, string>): Map<number, string> {
  const names = new Map<number, string>();
  if (fallback) for (const [xid, name] of fallback) names.set(xid, name);
  for (const c of snapshot.contexts) if (c.name !== '') names.set(c.xid, c.name);
  return names;
}

/** the raw name of XID in the given style ('' for an anonymous context) */
export function rawContextName(xid: number, names: ContextNames, style: NameStyle): string {
  if (xid === 0) return CONTEXT_NAMES.host[style];
  if (xid === 1) return CONTEXT_NAMES.spectator[style];
  return names.get(xid) ?? '';
}

/** the name of XID in the given style, escaped for a terminal */
export function displayName(xid: number, names: ContextNames, style: NameStyle): string {
  return escapeForTerminal(rawContextName(xid, names, style));
}
