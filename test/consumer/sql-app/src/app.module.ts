import { Module } from '@nestjs/common';
import { SessionModule } from 'nest-server-session';

// The SQL store's driver (knex and better-sqlite3) is deliberately not installed.
@Module({
  imports: [
    SessionModule.forRoot({
      type: 'sql',
      url: 'sqlite::memory:',
      secret: 'a consumer app secret',
    }),
  ],
})
export class AppModule {}
