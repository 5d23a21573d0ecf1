import { Logger } from '@nestjs/common';
import { RedisStore } from 'connect-redis';
import { Redis } from 'ioredis';
import type { ResolvedSessionOptions } from '../session.options.js';
import type { SessionStoreHandle } from './store-handle.js';
import { sessionTtlSeconds } from './session-ttl.js';

type RedisOptions = Extract<ResolvedSessionOptions, { type: 'redis' }>;

/** Longest pause between reconnection attempts: a store that comes back is used within this. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * connect-redis over ioredis, keys `prefix + sid`. ioredis is set to fail fast while Redis is
 * away (no offline queue, one retry, a command timeout) and to reconnect forever, so an
 * outage costs 503s, never a growing queue or a hung request, and ends by itself.
 */
export async function createRedisStore(
  options: RedisOptions,
): Promise<SessionStoreHandle> {
  const logger = new Logger('RedisSessionStore');
  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.storeTimeoutMs,
    connectTimeout: Math.max(options.storeTimeoutMs, 2000),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Log each outage once rather than once per reconnection attempt.
  let healthy = true;
  client.on('error', (err: Error) => {
    if (healthy) logger.warn(`Redis unreachable: ${err.message}`);
    healthy = false;
  });
  client.on('ready', () => {
    if (!healthy) logger.log('Redis connection restored');
    healthy = true;
  });
  await waitUntilReady(client, options.storeTimeoutMs);

  const store = new RedisStore({
    client,
    prefix: options.prefix,
    ttl: (session) => sessionTtlSeconds(session, options.lifetime),
  });
  return {
    type: 'redis',
    store,
    ping: async () => {
      await client.ping();
    },
    close: async () => {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** Gives the first connection a moment so that the first requests need not fail; never throws. */
function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
  });
}
