/**
 * The Nest docs' passport recipe (local strategy, sessions), as an app would write it: a
 * hard-coded user, a serializer, a login guard that calls `super.logIn`, a guard that checks
 * `request.isAuthenticated()`, and a small controller. Only the mounting differs: passport's
 * middleware goes to SessionModule's `afterSession` rather than `app.use` in main.ts.
 */
import {
  Controller,
  Get,
  Injectable,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import {
  AuthGuard,
  PassportSerializer,
  PassportStrategy,
} from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-local';

export interface User {
  id: number;
  username: string;
}

export const USERNAME = 'john';
export const PASSWORD = 'changeme';

@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  validate(username: string, password: string): User {
    if (username !== USERNAME || password !== PASSWORD)
      throw new UnauthorizedException();
    return { id: 1, username };
  }
}

/** The whole user goes into the session, as in the docs. */
@Injectable()
export class SessionSerializer extends PassportSerializer {
  serializeUser(user: User, done: (err: Error | null, user: User) => void) {
    done(null, user);
  }

  deserializeUser(
    payload: User,
    done: (err: Error | null, user: User) => void,
  ) {
    done(null, payload);
  }
}

@Injectable()
export class LocalLoginGuard extends AuthGuard('local') {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const result = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest<Request>());
    return result;
  }
}

@Injectable()
export class AuthenticatedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<Request>().isAuthenticated();
  }
}

@Controller('auth')
export class PassportTestController {
  @UseGuards(LocalLoginGuard)
  @Post('login')
  logIn(@Req() req: Request) {
    return req.user;
  }

  @UseGuards(AuthenticatedGuard)
  @Get('me')
  me(@Req() req: Request) {
    return req.user;
  }

  /** Open to all: what passport makes of an anonymous visitor. */
  @Get('public')
  public(@Req() req: Request) {
    return { authenticated: req.isAuthenticated() };
  }

  @UseGuards(AuthenticatedGuard)
  @Post('logout')
  logOut(@Req() req: Request): Promise<{ loggedOut: true }> {
    return new Promise((resolve, reject) =>
      req.logout((err) =>
        err ? reject(err as Error) : resolve({ loggedOut: true }),
      ),
    );
  }
}
