import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { appConfigFromEnv } from './app.config.js';
import { AppModule } from './app.module.js';
import { closeIdleConnectionsOnShutdown } from './close-idle-on-shutdown.js';
import { APP_OPTIONS, setupApp } from './app.setup.js';
import { readConfigOrExit } from './read-config.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Bootstrap');
  const config = readConfigOrExit(() => appConfigFromEnv(process.env));
  config.warnings.forEach((warning) => logger.warn(warning));

  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    { ...APP_OPTIONS, abortOnError: false },
  );
  await setupApp(app, config);
  // On SIGTERM/SIGINT: stop taking connections, let the requests in flight finish (the session
  // store closes only after them), then exit 0, as a supervisor expects of a clean stop.
  app.enableShutdownHooks([], { useProcessExit: true });
  closeIdleConnectionsOnShutdown(app.getHttpServer());
  await app.listen(config.port);
  logger.log(
    `Listening on port ${config.port} with the ${config.session.type} session store`,
  );
}

try {
  await bootstrap();
} catch (err) {
  console.error(err instanceof Error ? `Failed to start: ${err.message}` : err);
  process.exit(1);
}
