import { Module, type DynamicModule } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './app.config.js';
import { AuthModule } from './auth/auth.module.js';
import { CookieModule } from './cookie/cookie.module.js';
import { HealthModule } from './health/health.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { SessionModule } from 'nest-server-session';

/** The demo app, built from a config that was read and validated once at boot. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SessionModule.forRootAsync({
          isGlobal: true,
          useFactory: () => config.session,
        }),
        CookieModule,
        AuthModule,
        HealthModule,
        SessionsModule,
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
