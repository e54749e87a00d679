import { ERROR_KINDS, type ErrorKind } from '../generated/tables.js';

export type { ErrorKind };

/**
 * The error every kernel-layer failure becomes: the errno of the failing
 * call, its symbolic name, libvctx's kind of failure (vctx_error.kind) and
 * its one-line message naming what failed.  Callers decide on the code or
 * the kind, never on the message's words.  The class is handed to the
 * native addon at load time so native code throws it directly.
 */
export class KernelError extends Error {
  /** errno value (0 when the failure had none) */
  readonly errno: number;
  /** symbolic errno name such as 'ESRCH' ('' when none) */
  readonly code: string;
  /** libvctx's kind of failure: 'exec' when a command could not be executed (kernel/tables/vctx-tables.json) */
  readonly kind: ErrorKind;

  constructor(message: string, errno = 0, code = '', kind: unknown = 'failed') {
    super(message);
    this.name = 'KernelError';
    this.errno = errno;
    this.code = code;
    this.kind = (ERROR_KINDS as readonly unknown[]).includes(kind) ? (kind as ErrorKind) : 'failed';
  }
}
