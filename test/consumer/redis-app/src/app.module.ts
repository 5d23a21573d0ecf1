import { Module } from '@nestjs/common';
import { SessionModule } from 'nest-server-session';
import { LoginController } from './login.controller.js';

@Module({
  imports: [
    SessionModule.forRoot({
      type: 'redis',
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      secret: 'a consumer app secret',
      prefix: process.env.SESSION_PREFIX ?? 'consumer:',
    }),
  ],
  controllers: [LoginController],
})
export class AppModule {}
