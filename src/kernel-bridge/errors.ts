/**
 * The error every kernel-layer failure becomes: the errno of the failing
 * call, its symbolic name, and libvctx's one-line message naming what
 * failed.  The class is handed to the native addon at load time so native
 * code throws it directly.
 */
export class KernelError extends Error {
  /** errno value (0 when the failure had none) */
  readonly errno: number;
  /** symbolic errno name such as 'ESRCH' ('' when none) */
  readonly code: string;

  constructor(message: string, errno = 0, code = '') {
    super(message);
    this.name = 'KernelError';
    this.errno = errno;
    this.code = code;
  }
}
