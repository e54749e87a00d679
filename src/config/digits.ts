/**
 * The one rule for "all digits" in TypeScript (a PID, an XID, a /proc or
 * cgroup entry, a file descriptor, a ulimit): one or more ASCII digits,
 * nothing else.  libvctx's C side has vctx_all_digits.
 */
export function isDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}
