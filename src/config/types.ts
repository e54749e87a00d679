/**
 * The typed result of reading /etc/vservers/NAME.conf.
 */
import { FLAG_NAMES } from '../generated/tables.js';
import type { Rlimit } from './ulimit.js';

/**
 * Context flags of S_FLAGS (seed: "Basic configuration of the virtual
 * server"): kernel/tables/vctx-tables.json, through src/generated/tables.ts.
 */
export type ServerFlag = (typeof FLAG_NAMES)[number];

/** Every flag, in the order they are listed and formatted. */
export const SERVER_FLAGS: readonly ServerFlag[] = FLAG_NAMES;

/**
 * How a server is started and stopped (S_INIT).
 *  - sysv: no init process: `start` runs the rc scripts of the runlevel
 *    (`/etc/init.d/rc N`, or `/etc/rc.d/rc N`), `stop` runs them for runlevel
 *    0; vctx's reaper is PID 1 and the server lives while it has processes.
 *  - init: `/sbin/init` of the server runs as its PID 1 (the fakeinit flag is
 *    implied) and is asked to shut down on `stop`.  systemd is refused.
 *  - command: argv (absolute path inside the server) is started; with the
 *    fakeinit flag it is PID 1 and must reap orphans, otherwise vctx's reaper
 *    is PID 1 and the server lives while it has processes.
 */
export type ServerInit =
  | { style: 'sysv'; runlevel: number }
  | { style: 'init' }
  | { style: 'command'; argv: string[] };

/** Where the server's process limit came from. */
export type PidsMaxSource = 'PIDS_MAX' | 'ULIMIT';

/** Every key of a NAME.conf. */
export type ConfigKey =
  | 'IPROOT' | 'IPROOTDEV' | 'IPROOTMASK' | 'IPROOTBCAST' | 'NAT' | 'ONBOOT' | 'S_CAPS' | 'S_CONTEXT'
  | 'S_DOMAINNAME' | 'S_HOSTNAME' | 'S_NICE' | 'S_FLAGS' | 'S_INIT' | 'ULIMIT' | 'PRIORITY'
  | 'MEMORY_MAX' | 'PIDS_MAX' | 'CPU_WEIGHT' | 'CPU_MAX' | 'CONSOLE_MAX' | 'DISK_MAX';

export interface ServerCaps {
  /** the capability bounding set of the server: short names ('CHOWN'), by number */
  bounding: string[];
  /** capabilities S_CAPS added to the default set */
  added: string[];
  /** default capabilities S_CAPS dropped */
  dropped: string[];
  /** the bounding set as 0x-hex (as ContextInfo.capBounding) */
  hex: string;
}

/** A validated server configuration.  null always means "not set: use the default". */
export interface ServerConfig {
  /** server name (the NAME of NAME.conf) */
  name: string;
  /** the file it was read from */
  file: string;
  /** IPROOT: the dotted IPv4 address the server is locked to; null = not locked */
  ip: string | null;
  /** IPROOT's IPv6 address (canonical text), when it lists one besides the IPv4 address; null = none */
  ip6: string | null;
  /** IPROOTDEV: device the address is added to at start and removed from at stop;
   *  null = the address must already be configured on the host */
  ipDev: string | null;
  /** IPROOTMASK as a prefix length; null = /32 */
  ipPrefix: number | null;
  /** IPROOTBCAST; null = derived from the prefix by the kernel */
  ipBroadcast: string | null;
  /** NAT: the server reaches the outside world from the host's address */
  nat: boolean;
  /** ONBOOT */
  onBoot: boolean;
  /** S_CAPS applied to the server default set */
  caps: ServerCaps;
  /** S_CONTEXT: static XID 2..49151; null = a dynamic one */
  context: number | null;
  /** S_DOMAINNAME; null = none */
  domainname: string | null;
  /** S_HOSTNAME; null = the server's name */
  hostname: string | null;
  /** S_NICE: nice floor of every process; null = none */
  nice: number | null;
  /** S_FLAGS, in SERVER_FLAGS order (fakeinit added when S_INIT=init) */
  flags: ServerFlag[];
  /** S_INIT, resolved with the fakeinit flag */
  init: ServerInit;
  /** ULIMIT, in the kernel's units; without RLIMIT_NPROC when the nproc flag made it pidsMax */
  rlimits: Rlimit[];
  /** PRIORITY: start order of vserver-all (lower first, stop in reverse) */
  priority: number;
  /** MEMORY_MAX in bytes; null = no limit */
  memoryMax: number | null;
  /** the server's process limit (PIDS_MAX, else ULIMIT -u with the nproc flag); null = none */
  pidsMax: number | null;
  pidsMaxFrom: PidsMaxSource | null;
  /** CPU_WEIGHT 1..10000; null = the default (100) */
  cpuWeight: number | null;
  /** CPU_MAX in percent of one CPU; null = no cap */
  cpuMax: number | null;
  /** CONSOLE_MAX: bytes of console.log before it becomes console.log.1; null = the default (1M) */
  consoleMax: number | null;
  /** DISK_MAX in bytes (the project quota of the server's tree); null = no limit */
  diskMax: number | null;
  /** the line each key was set on, for messages about it */
  lines: Partial<Record<ConfigKey, number>>;
}
