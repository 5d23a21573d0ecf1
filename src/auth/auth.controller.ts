import {
  Controller,
  Get,
  Inject,
  Post,
  Render,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { FormContentTypeGuard } from '../common/form-content-type.guard.js';
import { CsrfGuard } from '../csrf/csrf.guard.js';
import { CsrfService } from '../csrf/csrf.service.js';
import {
  RESOLVED_SESSION_OPTIONS,
  type ResolvedSessionOptions,
} from 'nest-server-session';
import { AuthService } from './auth.service.js';
import { MAX_USERNAME_LENGTH, parseLoginForm } from './login.form.js';

const LOGIN_PAGE = '/login/';

/** The guide's login demo: GET shows who is logged in and a form, POST stores the name. */
@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly csrf: CsrfService,
    @Inject(RESOLVED_SESSION_OPTIONS)
    private readonly session: ResolvedSessionOptions,
  ) {}

  @Get('login')
  @Render('auth/login')
  show(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.page(req, res);
  }

  @Post('login')
  @UseGuards(CsrfGuard, FormContentTypeGuard)
  async logIn(@Req() req: Request, @Res() res: Response): Promise<void> {
    const form = parseLoginForm(req.body);
    if ('error' in form) {
      res
        .status(400)
        .render('auth/login', { ...this.page(req, res), error: form.error });
      return;
    }
    const loggedIn = await this.auth.logIn(req, form.username);
    // The old token was bound to the old session; a fresh one lets the next form post
    // (another tab, an API client reading the cookie) go through without a page load.
    // A login that lost to a concurrent one changed nothing: the held token may still do.
    if (loggedIn) this.csrf.renew(req, res);
    else this.csrf.token(req, res);
    res.redirect(302, LOGIN_PAGE);
  }

  @Post('logout')
  @UseGuards(CsrfGuard)
  async logOut(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.auth.logOut(req);
    const { name, path, domain, secure, sameSite } = this.session.cookie;
    res.clearCookie(name, { path, domain, secure, sameSite, httpOnly: true });
    res.redirect(302, LOGIN_PAGE);
  }

  private page(req: Request, res: Response) {
    const username = req.session?.username;
    return {
      title: 'Login',
      username: username ?? '',
      loggedIn: username !== undefined,
      csrfToken: this.csrf.token(req, res),
      maxLength: MAX_USERNAME_LENGTH,
    };
  }
}
