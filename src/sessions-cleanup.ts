/**
 * `npm run sessions:cleanup`: deletes expired sessions from the configured store once and
 * exits, for cron or a Kubernetes CronJob. Configured by the same environment as the app.
 * Exit status: 0 done (or nothing to do), 1 bad configuration or the store failed.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  SESSION_STORE,
  SessionModule,
  sessionOptionsFromEnv,
  type SessionStoreHandle,
} from 'nest-server-session';
import { readConfigOrExit } from './read-config.js';

async function cleanup(): Promise<void> {
  const { options } = readConfigOrExit(() =>
    sessionOptionsFromEnv(process.env),
  );
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
