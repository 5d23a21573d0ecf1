import {
  Inject,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  RESOLVED_SESSION_OPTIONS,
  SESSION_STORE,
} from './session.constants.js';
import { createSessionMiddleware } from './session.middleware.js';
import { SessionService } from './session.service.js';
import {
  ConfigurableModuleClass,
  SESSION_MODULE_OPTIONS,
} from './session.module-definition.js';
import type {
  ResolvedSessionOptions,
  SessionModuleOptions,
} from './options/session.options.js';
import { createStore, type SessionStoreHandle } from './stores/index.js';
import { validateSessionOptions } from './options/session.options.js';

/**
 * Server-side sessions for every route: `SessionModule.forRoot({ type, secret, ... })` or
 * `forRootAsync(...)`. Exports the store handle and the resolved options.
 */
@Module({
  providers: [
    {
      provide: RESOLVED_SESSION_OPTIONS,
      inject: [SESSION_MODULE_OPTIONS],
      // Validated here so that forRoot and forRootAsync both fail at boot.
      useFactory: (options: SessionModuleOptions) =>
        validateSessionOptions(options),
    },
    {
      provide: SESSION_STORE,
      inject: [RESOLVED_SESSION_OPTIONS],
      useFactory: (options: ResolvedSessionOptions) => createStore(options),
    },
    SessionService,
  ],
  exports: [SESSION_STORE, RESOLVED_SESSION_OPTIONS, SessionService],
})
export class SessionModule
  extends ConfigurableModuleClass
  implements NestModule, OnModuleDestroy
{
  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS)
    private readonly options: ResolvedSessionOptions,
    @Inject(SESSION_STORE) private readonly handle: SessionStoreHandle,
  ) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(createSessionMiddleware(this.options, this.handle.store))
      .exclude(...this.options.excludeRoutes)
      .forRoutes('{*splat}');
  }

  async onModuleDestroy(): Promise<void> {
    await this.handle.close();
  }
}
