import {
  Injectable,
  UnsupportedMediaTypeException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';

/** The demo's forms post `application/x-www-form-urlencoded`; anything else is a 415. */
@Injectable()
export class FormContentTypeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new UnsupportedMediaTypeException(
        'Send the form as application/x-www-form-urlencoded.',
      );
    }
    return true;
  }
}
