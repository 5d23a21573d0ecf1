import { Logger } from '@nestjs/common';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { Redis } from 'ioredis';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { LegacyHandle as SessionStoreHandle } from '../common/legacy-backend.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';

/** Longest pause between reconnection attempts: a store that comes back is used within this. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * connect-redis over ioredis, keys `prefix + sid`. ioredis is set to fail fast while Redis is
 * away (no offline queue, one retry, a command timeout) and to reconnect forever, so an
 * outage costs 503s, never a growing queue or a hung request, and ends by itself.
 */
export async function createRedisStore(
  options: ResolvedOptionsOf<'redis'>,
  codec: SessionCodec,
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
    client: bytesClient(client),
    serializer: {
      // bytesClient hands over Buffers; null (unreadable) loads as no session.
      parse: (raw) => codec.decode(raw as unknown as Buffer) as SessionData,
      stringify: (session) => codec.encode(session) as string,
    },
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

/**
 * The calls connect-redis makes, with values read as Buffers rather than UTF-8 strings, so that
 * msgpack sessions come back byte for byte (writes already take a Buffer as it is).
 */
function bytesClient(client: Redis) {
  return {
    get: (key: string) => client.getBuffer(key),
    set: (key: string, value: string | Buffer, ex: 'EX', ttl: number) =>
      client.set(key, value, ex, ttl),
    del: (keys: string[]) => client.del(keys),
    expire: (key: string, ttl: number) => client.expire(key, ttl),
    mget: (keys: string[]) => client.mgetBuffer(keys),
    scan: (
      cursor: string,
      match: 'MATCH',
      pattern: string,
      count: 'COUNT',
      n: number,
    ) => client.scan(cursor, match, pattern, count, n),
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
