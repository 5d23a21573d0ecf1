import { Module } from '@nestjs/common';
import { CsrfGuard } from './csrf.guard.js';
import { CsrfService } from './csrf.service.js';

@Module({
  providers: [CsrfService, CsrfGuard],
  exports: [CsrfService, CsrfGuard],
})
export class CsrfModule {}
