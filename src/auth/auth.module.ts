import { Module } from '@nestjs/common';
import { CsrfModule } from '../csrf/csrf.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';

@Module({
  imports: [CsrfModule],
  controllers: [AuthController],
  providers: [AuthService],
})
export class AuthModule {}
