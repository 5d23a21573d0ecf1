import { ServiceUnavailableException } from '@nestjs/common';
import { withHttpErrorShape } from './http-error-shape.js';

/**
 * A store call failed or took longer than `storeTimeoutMs`. A 503, so the request fails
 * fast and the client may retry, while nothing stored is touched. Also a 503 to Express's
 * final handler and to an app with another copy of @nestjs/common ({@link withHttpErrorShape}).
 */
export class StoreUnavailableError extends ServiceUnavailableException {
  declare readonly statusCode: number;

  constructor(operation: string, reason: string, cause?: unknown) {
    super(`Session store unavailable: ${operation} ${reason}`, { cause });
    this.name = 'StoreUnavailableError';
    withHttpErrorShape(this);
  }
}
