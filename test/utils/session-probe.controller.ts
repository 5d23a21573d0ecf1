import { Controller, Get, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { SessionService } from 'nest-server-session';

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

type Data = Record<string, unknown>;

/**
 * Test-only routes (never in the demo) that act on the session the way concurrent requests
 * of a real app do: slow writers and readers, plain key writes, atomic updates, logout.
 */
@Controller('test-session')
export class SessionProbeController {
  constructor(private readonly sessions: SessionService) {}

  /** Sets `key` to `value` (default true) through req.session, after `wait` ms. */
  @Post('set/:key')
  async set(
    @Req() req: Request,
    @Param('key') key: string,
    @Query('wait') wait = '0',
    @Query('value') value?: string,
  ): Promise<Data> {
    await sleep(Number(wait));
    (req.session as unknown as Data)[key] = value ?? true;
    return { ok: true };
  }

  /** `n = n + 1` through the atomic update API. */
  @Post('increment')
  async increment(@Req() req: Request): Promise<Data> {
    const stored = await this.sessions.update(req, (session) => {
      const data = session as unknown as Data;
      data.n = ((data.n as number | undefined) ?? 0) + 1;
    });
    return { n: (stored as unknown as Data | null)?.n ?? null };
  }

  /** What the request's session holds, after `wait` ms. */
  @Get('read')
  async read(@Req() req: Request, @Query('wait') wait = '0'): Promise<Data> {
    await sleep(Number(wait));
    const { cookie: _cookie, ...data } = (req.session ?? {}) as unknown as Data;
    return { session: data };
  }

  @Post('logout')
  async logOut(@Req() req: Request): Promise<Data> {
    await this.sessions.destroy(req);
    return { ok: true };
  }
}
