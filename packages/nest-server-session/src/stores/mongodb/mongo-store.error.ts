import { MongoError, MongoServerError } from 'mongodb';

/**
 * A failed MongoDB call, described without what the driver's error may quote. A server error
 * carries the server's message and reply, which name documents (E11000's
 * `dup key: { _id: "<prefix + session id>" }`, `keyValue`; an update's failing `{ _id: ... }`):
 * it is told by its code name and code only. The driver's own errors (refused, timed out, no
 * server selected, closed) describe the connection, never a document, and keep their message,
 * which is what an operator needs. The cause is not attached, since it holds the same text.
 */
export class MongoStoreError extends Error {
  constructor(
    message: string,
    /** The driver's or server's error code, when it had one. */
    readonly code?: number | string,
  ) {
    super(message);
    this.name = 'MongoStoreError';
  }
}

/** `err` from the driver during `operation`, as an error that names no session. */
export function mongoStoreError(
  operation: string,
  err: unknown,
): MongoStoreError {
  if (err instanceof MongoStoreError) return err;
  const failed = `MongoDB ${operation} failed`;
  if (err instanceof MongoServerError)
    return new MongoStoreError(
      `${failed}: ${err.codeName ?? 'server error'} (code ${String(err.code)})`,
      err.code,
    );
  if (err instanceof MongoError)
    return new MongoStoreError(`${failed}: ${err.message}`, err.code);
  // Not the driver's: a BSON or runtime error, whose text may hold what it was given.
  return new MongoStoreError(
    `${failed}: ${err instanceof Error ? err.name : 'unknown error'}`,
  );
}
