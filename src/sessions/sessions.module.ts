import { Module } from '@nestjs/common';
import { CsrfModule } from '../csrf/csrf.module.js';
import { SessionsController } from './sessions.controller.js';

/** The demo's "where you're logged in" page, over the module's UserSessions. */
@Module({
  imports: [CsrfModule],
  controllers: [SessionsController],
})
export class SessionsModule {}
