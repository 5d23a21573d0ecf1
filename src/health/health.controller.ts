import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { SESSION_STORE, type SessionStoreHandle } from 'nest-server-session';

/**
 * Whether the session store can serve sessions, for load balancers and orchestrators: 503
 * unless it can read and write now. Where the store says more (Redis: its mode, the servers it
 * sees and their roles, why it cannot take writes), the answer carries it.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(SESSION_STORE) private readonly handle: SessionStoreHandle,
  ) {}

  @Get()
  async check(@Res({ passthrough: true }) res: Response) {
    const { ok, ...details } = await this.handle.health();
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    res.setHeader('Cache-Control', 'no-store');
    return {
      status: ok ? 'ok' : 'error',
      store: { type: this.handle.type, ok, ...details },
    };
  }
}
