import { Body, Controller, Get, Post, Req } from '@nestjs/common';
import type { Request } from 'express';

declare module 'express-session' {
  interface SessionData {
    username?: string;
  }
}

@Controller()
export class LoginController {
  @Post('login')
  logIn(@Req() req: Request, @Body() body: { username: string }) {
    req.session.username = body.username;
    return { username: req.session.username };
  }

  @Get('whoami')
  whoAmI(@Req() req: Request) {
    return { username: req.session.username ?? null };
  }
}
