import type { ResolvedSessionOptions } from '../session.options.js';
import { startExpirySweeps } from './expiry-sweeper.js';
import { createFileStore } from './file.store.js';
import { GuardedStore, pingWithin } from './guarded-store.js';
import { createMemcachedStore } from './memcached.store.js';
import { createMemoryStore } from './memory.store.js';
import { createMongoStore } from './mongo.store.js';
import { createRedisStore } from './redis.store.js';
import { createSessionCodec, type SessionCodec } from './session-codec.js';
import { createSqlStore } from './sql.store.js';
import type { SessionStoreHandle } from './store-handle.js';
import { TouchThrottle } from './touch-throttle.js';

export type { SessionStoreHandle } from './store-handle.js';

/**
 * Builds the store for `options.type`, then bounds every call by `storeTimeoutMs`, refreshes
 * unchanged sessions only every `touchAfter` seconds and, where the store has no expiry of its
 * own, sweeps expired sessions every `cleanupInterval` seconds.
 * Adding a store type is adding a file and a case here.
 */
export async function createStore(
  options: ResolvedSessionOptions,
): Promise<SessionStoreHandle> {
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

function createRawStore(
  options: ResolvedSessionOptions,
  codec: SessionCodec,
): Promise<SessionStoreHandle> | SessionStoreHandle {
  switch (options.type) {
    case 'redis':
      return createRedisStore(options, codec);
    case 'memcached':
      return createMemcachedStore(options, codec);
    case 'mongodb':
      return createMongoStore(options, codec);
    case 'sql':
      return createSqlStore(options, codec);
    case 'filesystem':
      return createFileStore(options, codec);
    case 'memory':
      return createMemoryStore(options, codec);
    default: {
      const unknown: never = options;
      throw new Error(
        `Unknown session store type: ${JSON.stringify((unknown as { type: unknown }).type)}`,
      );
    }
  }
}
