/**
 * The server name rule, apart from the value schemas (zod) so that the
 * commands that only check a name (status, running, log, enter) do not load
 * them.  config/validate.ts re-exports it.
 */
import { NAME_CHECKS, NAME_MAX_UNITS, NAME_RULE } from '../generated/tables.js';

/** The longest server name. */
export const MAX_NAME_LENGTH = NAME_MAX_UNITS;

/**
 * Why @name cannot name a server, or null.  A name becomes a file name
 * (NAME.conf), a directory (/vservers/NAME) and a cgroup, so it has no
 * '/', no '..', no blanks or control characters, does not start with '-'
 * (it would read as an option) or '.', and has 1 to 64 characters.  The
 * checks and their words are kernel/tables/vctx-tables.json, which
 * vtop-helper (C) runs too.
 */
export function serverNameProblem(name: string): string | null {
  for (const { test, arg, says } of NAME_CHECKS) {
    const hit =
      test === 'empty' ? name === ''
      : test === 'longer' ? name.length > NAME_MAX_UNITS
      : test === 'contains' ? name.includes(arg!)
      : test === 'blank' ? /\s/.test(name)
      // eslint-disable-next-line no-control-regex
      : test === 'control' ? /[\x00-\x1f\x7f]/.test(name)
      : name.startsWith(arg!);
    if (hit) return `${says.replace('%d', String(name.length))}; ${NAME_RULE}`;
  }
  return null;
}
