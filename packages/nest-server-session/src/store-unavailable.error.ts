import { ServiceUnavailableException } from '@nestjs/common';

/**
 * A store call failed or took longer than `storeTimeoutMs`. A 503, so the request fails
 * fast and the client may retry, while nothing stored is touched.
 */
export class StoreUnavailableError extends ServiceUnavailableException {
  constructor(operation: string, reason: string, cause?: unknown) {
    super(`Session store unavailable: ${operation} ${reason}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
