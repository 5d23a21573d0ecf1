import type { INestApplication, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import { appConfigFromEnv, type AppConfig } from '../../src/app.config.js';
import { AppModule } from '../../src/app.module.js';
import { APP_OPTIONS, setupApp } from '../../src/app.setup.js';
import {
  SESSION_STORE,
  type Env,
  type SessionStoreHandle,
} from 'nest-server-session';

export const TEST_SECRET = 'e2e-test-secret';

export interface TestApp {
  app: INestApplication;
  server: Server;
  config: AppConfig;
  store: SessionStoreHandle;
  close(): Promise<void>;
}

/**
 * The real app, configured from `env` exactly as main.ts does, listening on no port;
 * `controllers` adds test-only routes beside the demo's.
 */
export async function createTestApp(
  env: Env,
  { controllers = [] }: { controllers?: Type[] } = {},
): Promise<TestApp> {
  const config = appConfigFromEnv({ SESSION_SECRET: TEST_SECRET, ...env });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config)],
    controllers,
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    ...APP_OPTIONS,
    logger: ['error'],
  });
  await setupApp(app, config);
  await app.init();
  return {
    app,
    server: app.getHttpServer() as Server,
    config,
    store: app.get<SessionStoreHandle>(SESSION_STORE),
    close: () => app.close(),
  };
}
