import type { ResolvedSessionOptions } from '../session.options.js';
import { assertDriversInstalled } from './drivers.js';
import { startExpirySweeps } from './common/expiry-sweeper.js';
import { GuardedStore, pingWithin } from './common/guarded-store.js';
import {
  createSessionCodec,
  type SessionCodec,
} from './common/session-codec.js';
import type { SessionStoreHandle } from './common/store-handle.js';
import { TouchThrottle } from './common/touch-throttle.js';

export type { SessionStoreHandle } from './common/store-handle.js';

/**
 * Builds the store for `options.type`, then bounds every call by `storeTimeoutMs`, refreshes
 * unchanged sessions only every `touchAfter` seconds and, where the store has no expiry of its
 * own, sweeps expired sessions every `cleanupInterval` seconds.
 * Adding a store type is adding a file and a case here.
 */
export async function createStore(
  options: ResolvedSessionOptions,
): Promise<SessionStoreHandle> {
  assertDriversInstalled(options);
  const handle = await createRawStore(
    options,
    createSessionCodec(options.serialization),
  );
  const interval = 'cleanupInterval' in options ? options.cleanupInterval : 0;
  const stopSweeps = startExpirySweeps(handle, interval);
  return {
    ...handle,
    store: new GuardedStore(
      handle.store,
      options.storeTimeoutMs,
      new TouchThrottle(options.touchAfter * 1000),
    ),
    ping: () => pingWithin(handle.ping, options.storeTimeoutMs),
    close: async () => {
      await stopSweeps();
      await handle.close();
    },
  };
}

/**
 * Each store's module is imported only for its type, so that its driver (an optional peer
 * dependency) need not be installed by apps that use another store.
 */
async function createRawStore(
  options: ResolvedSessionOptions,
  codec: SessionCodec,
): Promise<SessionStoreHandle> {
  switch (options.type) {
    case 'redis':
      return (await import('./redis/redis.store.js')).createRedisStore(
        options,
        codec,
      );
    case 'memcached':
      return (
        await import('./memcached/memcached.store.js')
      ).createMemcachedStore(options, codec);
    case 'mongodb':
      return (await import('./mongodb/mongo.store.js')).createMongoStore(
        options,
        codec,
      );
    case 'sql':
      return (await import('./sql/sql.store.js')).createSqlStore(
        options,
        codec,
      );
    case 'filesystem':
      return (await import('./filesystem/file.store.js')).createFileStore(
        options,
        codec,
      );
    case 'memory':
      return (await import('./memory/memory.store.js')).createMemoryStore(
        options,
        codec,
      );
    default: {
      const unknown: never = options;
      throw new Error(
        `Unknown session store type: ${JSON.stringify((unknown as { type: unknown }).type)}`,
      );
    }
  }
}
