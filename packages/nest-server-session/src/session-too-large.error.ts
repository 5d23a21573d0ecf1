import { HttpException, HttpStatus } from '@nestjs/common';
import { withHttpErrorShape } from './http-error-shape.js';

/**
 * A session grew past what its store can hold (memcached keeps items of at most 1 MB). The
 * write is refused before it reaches the store, so the previous version stays as it was; 507
 * Insufficient Storage says the server, not the request, ran out of room. Also a 507 to
 * Express's final handler and to an app with another copy of @nestjs/common.
 */
export class SessionTooLargeError extends HttpException {
  declare readonly statusCode: number;

  constructor(store: string, bytes: number, limit: number) {
    super(
      `Session too large for the ${store} store: ${bytes} bytes, limit ${limit}`,
      HttpStatus.INSUFFICIENT_STORAGE,
    );
    this.name = 'SessionTooLargeError';
    withHttpErrorShape(this);
  }
}
