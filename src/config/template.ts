/**
 * The commented NAME.conf that `vserver NAME build` writes, in the style of
 * the 2002 manual's configuration: every key, what it does, and its default.
 * The result always reads back through parseServerConfig without warnings
 * (renderConfigTemplate checks that itself).
 */
import { ADDABLE_CAPS, SERVER_DEFAULT_CAPS } from './caps.js';
import { ConfigError, configError } from './issues.js';
import { parseServerConfig } from './parse.js';
import { SERVER_FLAGS, type ServerFlag } from './types.js';
import { isIPv6 } from 'node:net';
import { canonicalIPv6, hostnameProblem } from './values.js';
import { serverNameProblem } from './validate.js';
import { FLAG } from '../generated/tables.js';

/** The build templates (CONTRACT "build --template"). */
export type BuildTemplate = 'busybox' | 'copy' | 'debootstrap';

export interface TemplateOptions {
  /** the server's name */
  name: string;
  /** IPROOT's IPv4 address (or the whole list); omitted: the line is left empty (not locked to an address) */
  ip?: string;
  /** IPROOT's IPv6 address, written after the IPv4 one */
  ip6?: string;
  /** NAT=yes: the server reaches the outside world from the host's address. @default false */
  nat?: boolean;
  /** IPROOTDEV; omitted: empty (the address must already be the host's) */
  ipDev?: string;
  /** S_HOSTNAME; omitted: the name, when it is a valid host name */
  hostname?: string;
  /** S_CONTEXT; omitted: empty (a dynamic context number) */
  ctx?: number;
  /** how the root is populated: 'busybox', 'copy', 'debootstrap' or 'debootstrap:SUITE' */
  template: string;
  /** S_INIT the populated root needs ('sysv', 'sysv:N', 'init' or a command). @default 'sysv' */
  init?: string;
  /** flags the populated root needs (e.g. [FLAG.fakeinit]), added to TEMPLATE_FLAGS */
  flags?: readonly string[];
}

/** S_FLAGS written into a new server, and why (see the template text). */
export const TEMPLATE_FLAGS = [FLAG.lock, FLAG.nproc].join(' ');
/** ULIMIT written into a new server: the seed's default. */
export const TEMPLATE_ULIMIT = '-H -u 1000';

/** Double-quote a value for a shell-style line ($ ` " \ escaped). */
export function shellQuote(value: string): string {
  return `"${value.replace(/([$`"\\])/g, '\\$1')}"`;
}

function templateKind(t: string): BuildTemplate | null {
  const base = t.split(':')[0];
  return base === 'busybox' || base === 'copy' || base === 'debootstrap' ? base : null;
}

/**
 * Render the commented configuration of a new server.  Throws a
 * ConfigError when an option is not acceptable (the message names it).
 */
export function renderConfigTemplate(opts: TemplateOptions): string {
  const file = `${opts.name}.conf`;
  const nameProblem = serverNameProblem(opts.name);
  if (nameProblem) throw new ConfigError('bad-name', [configError(file, null, null, opts.name, nameProblem)]);
  if (templateKind(opts.template) === null) {
    throw new ConfigError('invalid', [configError(file, null, null, opts.template,
      'unknown template; use busybox, copy or debootstrap[:SUITE]')]);
  }
  const hostname = opts.hostname ?? (hostnameProblem(opts.name) === null ? opts.name : '');
  // an IPv6 address is written in its canonical form, the one every check compares
  const v6 = opts.ip6 !== undefined && isIPv6(opts.ip6) ? canonicalIPv6(opts.ip6) : opts.ip6;
  const ip = [opts.ip ?? '', v6 ?? ''].filter((a) => a !== '').join(' ');
  const dev = opts.ipDev ?? '';
  const ctx = opts.ctx === undefined ? '' : String(opts.ctx);
  const flagSet = new Set(TEMPLATE_FLAGS.split(' '));
  for (const f of opts.flags ?? []) flagSet.add(f);
  const flags = SERVER_FLAGS.filter((f) => flagSet.has(f));
  for (const f of flagSet) if (!(SERVER_FLAGS as readonly string[]).includes(f)) flags.push(f as ServerFlag);
  const init = opts.init ?? 'sysv';
  const q = shellQuote;

  const text = `# Configuration of the virtual server '${opts.name}' (template: ${opts.template})
#
# Read by vctx, never run by a shell: each line is KEY="value", a comment or
# blank.  $(...), backticks and ; in a value are just characters.  An unknown
# key is a warning; a bad value is an error and the server is not started.
# An empty value means the default given below.

# IPROOT: the IPv4 address of the server, and optionally an IPv6 address
# after it, separated by a blank: "192.168.1.10" or "192.168.1.10 fd00::10".
# Its processes are locked to them: binding 0.0.0.0 (or ::) gives these
# addresses, other host addresses are refused, and connections leave from
# them.  Write the addresses: host names are not resolved (the server must
# not depend on DNS to start).  Without an IPv6 address the server still has
# a private one on its own loopback, so programs that listen on [::] start.
# Empty: the server is not locked and shares every address of the host.
IPROOT=${q(ip)}

# IPROOTDEV: the host network device (e.g. eth0) IPROOT is added to when the
# server starts and removed from when it stops (an IPv6 address as /128,
# without duplicate address detection).  Empty: vctx adds nothing and
# IPROOT must already be an address of the host (or in 127.0.0.0/8).
IPROOTDEV=${q(dev)}

# IPROOTMASK: netmask of the added address (255.255.255.0 or 24).
# Default: /32.  Seldom used; only with IPROOTDEV.
IPROOTMASK=""

# IPROOTBCAST: broadcast address of the added address.  Default: derived
# from the netmask.  Seldom used; only with IPROOTDEV.
IPROOTBCAST=""

# NAT: yes lets a server whose address the host cannot route out (one in
# 127.0.0.0/8, as in tests, or a private address the network does not know)
# reach the outside world: its outgoing connections to addresses that are
# not loopback leave from the host's own address.  Nothing from outside
# reaches the server through it.  No: the server's connections leave from
# IPROOT only, so with such an address it cannot reach the outside world
# (apt-get inside fails).  Needs IPROOT.  Default: no.
NAT=${q(opts.nat ? 'yes' : 'no')}

# ONBOOT: yes to start the server with "vserver-all start" at boot (and stop
# it at shutdown).  Once the server works, it is a good idea to say yes.
# Default: no.
ONBOOT="no"

# PRIORITY: the order of "vserver-all start": lower first, from -999 to 999;
# servers with the same priority start by name, and stop in reverse order.
# Default: 0.
PRIORITY="0"

# S_CAPS: capabilities beyond the default set, blank-separated, written
# CAP_X or X in any case; !CAP_X drops one of the default set.
# Every server keeps: ${SERVER_DEFAULT_CAPS.join(' ')}.
# May be added: ${ADDABLE_CAPS.join(' ')}.
# Everything else is refused, with the reason, because on a shared kernel and
# network stack it reaches the host: e.g. CAP_NET_RAW (ping works through
# ICMP datagram sockets where the host's net.ipv4.ping_group_range allows
# them), CAP_SYS_ADMIN, CAP_NET_ADMIN (the host configures IPROOT).
# Default: empty, the default set only.
S_CAPS=""

# S_CONTEXT: a static security context number, 2 to 49151, different for each
# server.  Empty: an unused one from 49152..65535 is chosen at each start;
# in most cases leave it empty.
S_CONTEXT=${q(ctx)}

# S_HOSTNAME: the host name of the server (Apache and others use it).
# Empty: the server's name.
S_HOSTNAME=${q(hostname)}

# S_DOMAINNAME: the NIS domain name of the server.  Empty: none.
S_DOMAINNAME=""

# S_NICE: nice level of every process of the server, -20 (highest priority)
# to 19 (lowest); not even root inside can lower it.  Empty: not changed.
S_NICE=""

# S_FLAGS: flags of the server's context, blank-separated:
#   lock      the server cannot create new contexts or namespaces
#   sched     the server's processes weigh as one against the host's
#   nproc     ULIMIT -u limits the processes of the whole server, not of
#             each user (PIDS_MAX, when set, is the limit instead; with
#             neither, the hard ulimit -u vserver runs with)
#   private   nobody enters the server and its processes cannot be signalled
#             one by one; stop and restart still work
#   fakeinit  the first process is PID 1 and /sbin/init of the server runs
#             (the same as S_INIT="init")
# New servers get "${TEMPLATE_FLAGS}" (plus what their template needs): lock
# keeps nested contexts out of a server, and nproc turns the ULIMIT below into
# a limit on the whole server, so a fork bomb inside stops at 1000 processes.
# When the key is missing or empty: no flags.
S_FLAGS=${q(flags.join(' '))}

# S_INIT: how the server starts and stops.
#   sysv      rc scripts: start runs /etc/init.d/rc 3 (or /etc/rc.d/rc 3),
#             stop runs them for runlevel 0; sysv:N picks runlevel N (1..5)
#   init      /sbin/init of the server runs as its PID 1 (implies fakeinit)
#             and is asked to shut down on stop; systemd is refused (it
#             needs a writable cgroup tree of its own)
#   /path/to/command args   started inside the server (no shell: split on
#             blanks); PID 1 with the fakeinit flag
# Default: init with the fakeinit flag, else sysv.
S_INIT=${q(init)}

# ULIMIT: arguments of the shell's ulimit: -H hard, -S soft, both by default,
# then options with values (integers or unlimited):
#   -c core KiB  -d data KiB  -e nice ceiling  -f file KiB  -i signals
#   -l locked KiB  -m rss KiB  -n open files  -q mqueue bytes  -r rt prio
#   -s stack KiB  -t CPU seconds  -u processes  -v virtual KiB  -x locks
# e.g. "-H -n 4096 -u 200".  With the nproc flag, -u is the server's limit.
ULIMIT=${q(TEMPLATE_ULIMIT)}

# MEMORY_MAX: memory of the whole server in bytes, with K, M, G or T
# (powers of 1024), e.g. 512M.  Empty or max: no limit.
MEMORY_MAX=""

# PIDS_MAX: processes and threads of the whole server (1 to 4194304); wins
# over ULIMIT -u with the nproc flag.  Empty or max: no limit of its own.
PIDS_MAX=""

# CPU_WEIGHT: share of CPU time against other servers under contention,
# 1 to 10000.  Empty: the default weight, 100.
CPU_WEIGHT=""

# CPU_MAX: ceiling in percent of one CPU, e.g. 50% or 150% (one and a half
# CPUs).  Empty or max: no ceiling.
CPU_MAX=""

# CONSOLE_MAX: size of the console log (vserver NAME log) on the host, 64K
# to 1G; at the limit it becomes console.log.1 and starts anew, so the
# console takes at most twice this under the runtime directory.  Empty: 1M.
CONSOLE_MAX=""
# DISK_MAX: disk space of the server's tree in bytes, with K, M, G or T
# (powers of 1024), e.g. 10G: an ext4 or XFS project quota (the file system
# needs project quotas: ext4's 'project' and 'quota' features and the
# 'prjquota' mount option).  Empty or max: no limit.
DISK_MAX=""
`;
  const check = parseServerConfig(text, { file, name: opts.name });
  const bad = [...check.errors, ...check.warnings];
  if (bad.length) throw new ConfigError('invalid', bad);
  return text;
}
