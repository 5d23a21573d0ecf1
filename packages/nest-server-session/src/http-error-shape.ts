import type { HttpException } from '@nestjs/common';

/**
 * Gives `error` the fields of an http-errors error (`status` and `statusCode` equal, `expose`),
 * which Express's final handler and Nest's BaseExceptionFilter both read without knowing the
 * class. An app installed with its own copy of @nestjs/common has another HttpException class,
 * so `instanceof` fails there; these fields still make its 503 a 503, not a 500. `expose`:
 * the message may reach the client, as the package's error messages never name a session.
 */
export function withHttpErrorShape<T extends HttpException>(error: T): T {
  const status = error.getStatus();
  // Set, not declared: HttpException's own `status` field is private in its typings.
  Object.assign(error, { status, statusCode: status, expose: true });
  return error;
}
