/**
 * Why a lifecycle action failed, with the CONTRACT exit code.  The message
 * is one line per problem, for people; `step` names the step that failed.
 */
export type LifecycleErrorKind =
  /** a bad server name or argument (exit 2) */
  | 'usage'
  /** no NAME.conf (exit 3) */
  | 'unknown-server'
  /** the server is not running where running was needed (exit 3) */
  | 'not-running'
  /** the server is already running (exit 1) */
  | 'already-running'
  /** the configuration or a check refuses (exit 1) */
  | 'invalid'
  /** an operation failed (exit 1) */
  | 'failed';

export class LifecycleError extends Error {
  override name = 'LifecycleError';
  readonly exitCode: 1 | 2 | 3;
  constructor(
    readonly kind: LifecycleErrorKind,
    /** 'config', 'checks', 'lock', 'pre-start', 'alias', 'context', 'stop', ... */
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.exitCode = kind === 'usage' ? 2 : kind === 'unknown-server' || kind === 'not-running' ? 3 : 1;
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
