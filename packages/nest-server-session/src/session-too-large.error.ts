import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * A session grew past what its store can hold (memcached keeps items of at most 1 MB). The
 * write is refused before it reaches the store, so the previous version stays as it was; 507
 * Insufficient Storage says the server, not the request, ran out of room.
 */
export class SessionTooLargeError extends HttpException {
  constructor(store: string, bytes: number, limit: number) {
    super(
      `Session too large for the ${store} store: ${bytes} bytes, limit ${limit}`,
      HttpStatus.INSUFFICIENT_STORAGE,
    );
    this.name = 'SessionTooLargeError';
  }
}
