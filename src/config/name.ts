/**
 * The server name rule, apart from the value schemas (zod) so that the
 * commands that only check a name (status, running, log, enter) do not load
 * them.  config/validate.ts re-exports it.
 */

/** The longest server name. */
export const MAX_NAME_LENGTH = 64;

/**
 * Why @name cannot name a server, or null.  A name becomes a file name
 * (NAME.conf), a directory (/vservers/NAME) and a cgroup, so it has no
 * '/', no '..', no blanks or control characters, does not start with '-'
 * (it would read as an option) or '.', and has 1 to 64 characters.
 */
export function serverNameProblem(name: string): string | null {
  const rule = `a server name has 1 to ${MAX_NAME_LENGTH} characters, no '/', '..', blanks or control characters, ` +
    "and does not start with '-' or '.'";
  if (name === '') return `the name is empty; ${rule}`;
  if (name.length > MAX_NAME_LENGTH) return `the name has ${name.length} characters; ${rule}`;
  if (name.includes('/')) return `the name contains '/'; ${rule}`;
  if (name.includes('..')) return `the name contains '..'; ${rule}`;
  if (/\s/.test(name)) return `the name contains a blank; ${rule}`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return `the name contains a control character; ${rule}`;
  if (name.startsWith('-')) return `the name starts with '-'; ${rule}`;
  if (name.startsWith('.')) return `the name starts with '.'; ${rule}`;
  return null;
}
