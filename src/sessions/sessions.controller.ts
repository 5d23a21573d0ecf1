import {
  Controller,
  ForbiddenException,
  Get,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { UserSessions } from 'nest-server-session';
import { FormContentTypeGuard } from '../common/form-content-type.guard.js';
import { CsrfGuard } from '../csrf/csrf.guard.js';
import { CsrfService } from '../csrf/csrf.service.js';
import '../auth/auth.session.js';
import { deviceLabel } from './device-label.js';
import { relativeTime } from './relative-time.js';

const SESSIONS_PAGE = '/sessions/';
const LOGIN_PAGE = '/login/';

/** "Where you're logged in": the user's sessions on every device, each one can be ended. */
@Controller('sessions')
export class SessionsController {
  constructor(
    private readonly users: UserSessions,
    private readonly csrf: CsrfService,
  ) {}

  @Get()
  async list(@Req() req: Request, @Res() res: Response): Promise<void> {
    const username = req.session?.username;
    if (username === undefined) return res.redirect(302, LOGIN_PAGE);
    const sessions = await this.users.list(username, req);
    const now = new Date();
    res.render('sessions/index', {
      title: 'Your sessions',
      username,
      csrfToken: this.csrf.token(req, res),
      others: sessions.some((session) => !session.current),
      sessions: sessions.map((session) => ({
        handle: session.handle,
        device: deviceLabel(session.userAgent),
        ip: session.ip,
        signedIn: session.createdAt.toISOString(),
        signedInAgo: relativeTime(session.createdAt, now),
        lastSeen: session.lastSeen?.toISOString(),
        lastSeenAgo: session.lastSeen
          ? relativeTime(session.lastSeen, now)
          : undefined,
        current: session.current,
      })),
    });
  }

  /** Ends one of the user's sessions; someone else's (or an unknown) handle is a 403. */
  @Post('revoke')
  @UseGuards(CsrfGuard, FormContentTypeGuard)
  async revoke(@Req() req: Request, @Res() res: Response): Promise<void> {
    const username = req.session?.username;
    if (username === undefined) return res.redirect(302, LOGIN_PAGE);
    const handle = (req.body as Record<string, unknown> | undefined)?.handle;
    if (
      typeof handle !== 'string' ||
      !(await this.users.revoke(username, handle))
    )
      throw new ForbiddenException('That is not one of your sessions.');
    res.redirect(302, SESSIONS_PAGE);
  }

  /** "Log out everywhere else": every session of the user but this one. */
  @Post('revoke-others')
  @UseGuards(CsrfGuard, FormContentTypeGuard)
  async revokeOthers(@Req() req: Request, @Res() res: Response): Promise<void> {
    const username = req.session?.username;
    if (username === undefined) return res.redirect(302, LOGIN_PAGE);
    await this.users.revokeAll(username, { except: req });
    res.redirect(302, SESSIONS_PAGE);
  }
}
