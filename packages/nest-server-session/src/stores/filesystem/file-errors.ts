import { getSystemErrorMap } from 'node:util';

/**
 * An error of the filesystem store whose message names no file: a session file's name is its
 * key in base64url, so the id could be read back from any path. Passed on as it is.
 */
export class SessionFileError extends Error {
  constructor(
    message: string,
    /** The system error code (`EACCES`, `ENOSPC`, ...) of the failure, when it had one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'SessionFileError';
  }
}

/**
 * `err` retold without its path: Node's fs errors end with the file they failed on. Keeps the
 * code and the system's description of it, and drops the cause, which holds the path.
 */
export function safeFileError(
  operation: string,
  err: unknown,
): SessionFileError {
  if (err instanceof SessionFileError) return err;
  const { code, errno, syscall } = (err ?? {}) as NodeJS.ErrnoException;
  const description =
    typeof errno === 'number' ? getSystemErrorMap().get(errno)?.[1] : undefined;
  const what = code
    ? `${code}${description ? ` (${description})` : ''}${syscall ? ` in ${syscall}` : ''}`
    : ((err as Error | undefined)?.name ?? 'unknown error');
  return new SessionFileError(
    `Session file ${operation} failed: ${what}`,
    code,
  );
}

/** `work`, failing with an error that names no file. */
export function guard<T>(
  operation: string,
  work: () => Promise<T>,
): Promise<T> {
  return Promise.resolve()
    .then(work)
    .catch((err: unknown) => {
      throw safeFileError(operation, err);
    });
}

/** The error of a wait for a session's lock that reached its deadline. */
export function isLockWaitTimeout(err: unknown): boolean {
  return err instanceof SessionFileError && err.code === 'ETIMEDOUT';
}
