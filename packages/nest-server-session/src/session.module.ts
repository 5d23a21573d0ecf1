import {
  Inject,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  RESOLVED_SESSION_OPTIONS,
  SESSION_STORE,
} from './session.constants.js';
import { createSessionMiddlewares } from './session.middleware.js';
import { SessionService } from './session.service.js';
import { UserSessions } from './user-sessions.service.js';
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
    UserSessions,
  ],
  exports: [
    SESSION_STORE,
    RESOLVED_SESSION_OPTIONS,
    SessionService,
    UserSessions,
  ],
})
export class SessionModule
  extends ConfigurableModuleClass
  implements NestModule, OnApplicationShutdown
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
      .apply(...createSessionMiddlewares(this.options, this.handle.store))
      .exclude(...this.options.excludeRoutes)
      .forRoutes('{*splat}');
  }

  /**
   * Closes the store once the HTTP server has stopped: Nest's close() runs onModuleDestroy and
   * beforeApplicationShutdown before it closes the server (which waits for the requests in
   * flight), and onApplicationShutdown after. Closed any earlier, the store would fail the
   * requests still being answered.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}
