import { Module } from '@nestjs/common';
import { CsrfModule } from '../csrf/csrf.module.js';
import { CookieController } from './cookie.controller.js';

@Module({
  imports: [CsrfModule],
  controllers: [CookieController],
})
export class CookieModule {}
