/**
 * Host settings a server depends on but vctx does not change: told once,
 * in one line, with the command that fixes them.
 *
 * ping: a server never holds CAP_NET_RAW (CONTRACT), so ping works through
 * ICMP datagram sockets, which the kernel allows only to the groups in
 * net.ipv4.ping_group_range ("1 0", nobody, by default).  Root inside a
 * server is gid 0.
 */
import { join } from 'node:path';
import { projectRoot } from '../kernel-bridge/addon.js';
import { PING_GROUP_RANGE, insideViews, readPingGroupRange } from '../kernel-bridge/host.js';

/** the fix: every group may open ICMP datagram sockets (what systemd sets) */
export const PING_GROUP_FIX = "sysctl -w net.ipv4.ping_group_range='0 2147483647'";

/**
 * Why ping cannot work for root (gid 0) with @range (the text of
 * ping_group_range, "LOW HIGH"), or null when it can (or the text is
 * unreadable: nothing to say then).
 */
export function pingGroupProblem(range: string): string | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(range);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo <= 0 && 0 <= hi) return null;
  return `the host's net.ipv4.ping_group_range (${lo} ${hi}) excludes root (gid 0): ping inside the servers cannot work ` +
    `(they never hold CAP_NET_RAW); allow it with: ${PING_GROUP_FIX}`;
}

/** the warning for a server with an address, from the host's setting; null when none */
export function pingWarning(hasAddress: boolean, file = PING_GROUP_RANGE): string | null {
  if (!hasAddress) return null;
  const range = readPingGroupRange(file);
  return range === null ? null : pingGroupProblem(range);
}

/** the command that starts the inside views' daemons (setup.sh runs it) */
export const VIEWS_START = join(projectRoot, 'scripts', 'vctx-views') + ' start';

/**
 * Why server @name sees the host in free/top (no lxcfs) or in ss/netstat
 * (no vctx-netview), in one line; null when both answered.
 */
export function viewsProblem(name: string, v: { lxcfs: boolean; netview: boolean }): string | null {
  const missing: string[] = [];
  if (!v.lxcfs) missing.push('lxcfs (free, top: the host\'s memory and load)');
  if (!v.netview) missing.push('vctx-netview (ss, netstat: every socket of the host)');
  if (!missing.length) return null;
  return `'${name}' started without its inside views: ${missing.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not run on the host; ` +
    `start ${missing.length > 1 ? 'them' : 'it'} with: ${VIEWS_START}, then restart the server`;
}

/** the warning for server @name as the host is now; null when none */
export function viewsWarning(name: string): string | null {
  return viewsProblem(name, insideViews());
}
