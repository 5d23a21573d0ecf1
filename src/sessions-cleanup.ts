/**
 * `npm run sessions:cleanup`: deletes expired sessions from the configured store once and
 * exits, for cron or a Kubernetes CronJob. Configured by the same environment as the app.
 * Exit status: 0 done (or nothing to do), 1 bad configuration or the store failed.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  InvalidConfigError,
  SESSION_STORE,
  SessionModule,
  sessionOptionsFromEnv,
  type SessionModuleOptions,
  type SessionStoreHandle,
} from './session/index.js';

async function cleanup(): Promise<void> {
  let options: SessionModuleOptions;
  try {
    ({ options } = sessionOptionsFromEnv(process.env));
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const context = await NestFactory.createApplicationContext(
    SessionModule.forRoot(options),
    { logger: ['error', 'warn'], abortOnError: false },
  );
  try {
    const handle = context.get<SessionStoreHandle>(SESSION_STORE);
    if (!handle.removeExpired) {
      console.log(
        `SESSION_TYPE=${handle.type}: the store expires sessions itself; nothing to clean up`,
      );
      return;
    }
    const removed = await handle.removeExpired();
    console.log(
      `Removed ${removed} expired session${removed === 1 ? '' : 's'} from the ${handle.type} store`,
    );
  } finally {
    await context.close();
  }
}

try {
  await cleanup();
} catch (err) {
  console.error(
    err instanceof Error ? `Cleanup failed: ${err.message}` : String(err),
  );
  process.exit(1);
}
