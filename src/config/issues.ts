/**
 * Problems found in a server configuration: warnings (returned, the
 * configuration is still usable) and errors (nothing may be started).
 * Each names the file, the line, the key and the value, and says what
 * would be right.
 */

export type Severity = 'error' | 'warning';

export interface ConfigIssue {
  severity: Severity;
  /** the configuration file (or the directory, for listing problems) */
  file: string;
  /** 1-based line number, null when the issue is about the whole file */
  line: number | null;
  /** the key concerned, null when the line is not an assignment */
  key: string | null;
  /** the value as read (after unquoting), null when there is none */
  value: string | null;
  /** what is wrong and what would be right */
  message: string;
}

/** Shorthand constructors. */
export function configError(
  file: string, line: number | null, key: string | null, value: string | null, message: string,
): ConfigIssue {
  return { severity: 'error', file, line, key, value, message };
}

export function configWarning(
  file: string, line: number | null, key: string | null, value: string | null, message: string,
): ConfigIssue {
  return { severity: 'warning', file, line, key, value, message };
}

/**
 * Quote a value for a message: double quotes, with control characters and
 * quotes escaped so a hostile value cannot drive the terminal.
 */
export function quoteValue(value: string): string {
  // JSON escapes C0 controls and quotes; DEL and C1 controls too
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * One line for people:
 *   `/etc/vservers/web.conf:12: S_NICE="40": must be an integer from -20 to 19`
 *   `/etc/vservers/web.conf:3: warning: unknown key FOO ignored (…)`
 */
export function formatIssue(issue: ConfigIssue): string {
  return issueLine(issue, issue.severity === 'warning');
}

/**
 * formatIssue without the `warning: `, for a caller that prints its own
 * (`vserver: warning: /etc/…`: one prefix, not two).
 */
export function formatIssueBare(issue: ConfigIssue): string {
  return issueLine(issue, false);
}

function issueLine(issue: ConfigIssue, withSeverity: boolean): string {
  const where = issue.line === null ? issue.file : `${issue.file}:${issue.line}`;
  const what = issue.key !== null
    ? `${issue.key}=${quoteValue(issue.value ?? '')}: `
    : issue.value !== null ? `${quoteValue(issue.value)}: ` : '';
  const sev = withSeverity ? 'warning: ' : '';
  return `${where}: ${sev}${what}${issue.message}`;
}

/** Why a configuration could not be used. */
export type ConfigErrorKind =
  /** no NAME.conf: an unknown server (CONTRACT exit code 3) */
  | 'unknown-server'
  /** the name itself is not acceptable (usage error, exit code 2) */
  | 'bad-name'
  /** the file has errors or is unsafe (exit code 1) */
  | 'invalid';

/**
 * Thrown by the loaders when a configuration cannot be used.  `message` is
 * every error, one per line (formatIssue), so a CLI prints it as is.
 */
export class ConfigError extends Error {
  readonly kind: ConfigErrorKind;
  readonly issues: readonly ConfigIssue[];
  /** warnings found alongside the errors */
  readonly warnings: readonly ConfigIssue[];

  constructor(kind: ConfigErrorKind, issues: readonly ConfigIssue[], warnings: readonly ConfigIssue[] = []) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.kind = kind;
    this.issues = issues;
    this.warnings = warnings;
  }
}
