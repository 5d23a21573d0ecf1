import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { sendError } from './error-response.js';

/**
 * Every error becomes a page in the site's layout (or JSON when asked). Client errors keep
 * their reason; anything unexpected is logged and answered with a generic 500.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const status =
      exception instanceof HttpException ? exception.getStatus() : 500;
    // HttpExceptions were raised on purpose (a 503 from the store guard is logged there);
    // anything else is a bug worth its stack trace.
    if (!(exception instanceof HttpException)) {
      const detail =
        exception instanceof Error
          ? (exception.stack ?? exception.message)
          : String(exception);
      this.logger.error(
        `${req.method} ${req.originalUrl} -> ${status}: ${detail}`,
      );
    }
    // express-session may report a failed end-of-request save after the answer has gone out.
    if (res.headersSent) return;
    const message =
      exception instanceof HttpException
        ? messageOf(exception)
        : 'Something went wrong on our side.';
    sendError(req, res, status, message);
  }
}

function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}
