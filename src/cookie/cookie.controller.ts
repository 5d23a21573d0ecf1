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
} from '../session/index.js';
import {
  cookieKey,
  cookieMaxAge,
  cookieValue,
  type CookieQuery,
} from './cookie.query.js';

/**
 * The guide's cookie demo: set, read and delete a plain cookie through the response.
 * These cookies live only in the browser; nothing reaches the session store.
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

  @Get('setcookie')
  @Render('cookie/index')
  set(@Query() query: CookieQuery, @Res({ passthrough: true }) res: Response) {
    const key = cookieKey(query, this.reserved);
    const value = cookieValue(query);
    const maxAge = cookieMaxAge(query);
    res.cookie(
      key,
      value,
      maxAge === undefined ? {} : { maxAge: maxAge * 1000 },
    );
    return { title: 'Set cookie', action: 'set', key, value, maxAge };
  }

  @Get('getcookie')
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

  @Get('delcookie')
  @Render('cookie/index')
  delete(
    @Query() query: CookieQuery,
    @Res({ passthrough: true }) res: Response,
  ) {
    const key = cookieKey(query, this.reserved);
    res.clearCookie(key);
    return { title: 'Delete cookie', action: 'delete', key };
  }
}
