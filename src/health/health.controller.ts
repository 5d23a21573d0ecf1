import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { SESSION_STORE, type SessionStoreHandle } from 'nest-server-session';

/** Liveness of the session store, for load balancers and orchestrators. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(SESSION_STORE) private readonly handle: SessionStoreHandle,
  ) {}

  @Get()
  async check(@Res({ passthrough: true }) res: Response) {
    const ok = await this.handle.ping().then(
      () => true,
      () => false,
    );
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    res.setHeader('Cache-Control', 'no-store');
    return {
      status: ok ? 'ok' : 'error',
      store: { type: this.handle.type, ok },
    };
  }
}
