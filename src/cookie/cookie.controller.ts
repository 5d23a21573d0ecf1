import {
  Controller,
  Get,
  Inject,
  Query,
  Render,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { CsrfService } from '../csrf/csrf.service.js';
import {
  RESOLVED_SESSION_OPTIONS,
  type ResolvedSessionOptions,
} from 'nest-server-session';
import { assertRoomForCookie, demoCookieNames } from './cookie-budget.js';
import {
  allCookies,
  cookieKey,
  cookieMaxAge,
  cookieValue,
  type CookieQuery,
} from './cookie.query.js';
import { COOKIE_ROUTES } from './cookie.routes.js';

/**
 * The guide's cookie demo: set, read and delete a plain cookie through the response.
 * These cookies live only in the browser, and the session layer skips these routes. The demo
 * sets only so many, so small ({@link assertRoomForCookie}), that a visitor's requests stay
 * well within the header limits; `/delcookie/?all` clears them all.
 */
@Controller()
export class CookieController {
  private readonly reserved: string[];

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) session: ResolvedSessionOptions,
    csrf: CsrfService,
  ) {
    this.reserved = [session.cookie.name, csrf.cookieName];
  }

  @Get(COOKIE_ROUTES.set)
  @Render('cookie/index')
  set(
    @Query() query: CookieQuery,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const key = cookieKey(query, this.reserved);
    const value = cookieValue(query);
    const maxAge = cookieMaxAge(query);
    assertRoomForCookie(req.headers.cookie, this.reserved, key, value);
    res.cookie(
      key,
      value,
      maxAge === undefined ? {} : { maxAge: maxAge * 1000 },
    );
    return { title: 'Set cookie', action: 'set', key, value, maxAge };
  }

  @Get(COOKIE_ROUTES.get)
  @Render('cookie/index')
  get(@Query() query: CookieQuery, @Req() req: Request) {
    const key = cookieKey(query, this.reserved);
    const value = (req.cookies as Record<string, string | undefined>)[key];
    return {
      title: 'Get cookie',
      action: 'get',
      key,
      value,
      found: value !== undefined,
    };
  }

  @Get(COOKIE_ROUTES.delete)
  @Render('cookie/index')
  delete(
    @Query() query: CookieQuery,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (allCookies(query)) {
      const keys = demoCookieNames(req.headers.cookie, this.reserved);
      for (const key of keys) res.clearCookie(key);
      return { title: 'Delete cookies', action: 'delete-all', keys };
    }
    const key = cookieKey(query, this.reserved);
    res.clearCookie(key);
    return { title: 'Delete cookie', action: 'delete', key };
  }
}
