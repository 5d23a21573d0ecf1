import {
  ForbiddenException,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { CsrfService } from './csrf.service.js';

/** Refuses a state-changing form post whose CSRF token is missing, wrong or someone else's. */
@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(private readonly csrf: CsrfService) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.csrf.isValid(context.switchToHttp().getRequest<Request>())) {
      throw new ForbiddenException(
        'Missing or invalid CSRF token: reload the page and try again.',
      );
    }
    return true;
  }
}
