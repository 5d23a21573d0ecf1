import type { ResolvedSessionOptions } from '../session.options.js';
import { GuardedStore, pingWithin } from './guarded-store.js';
import { createMemoryStore } from './memory.store.js';
import { createRedisStore } from './redis.store.js';
import { createSqlStore } from './sql.store.js';
import type { SessionStoreHandle } from './store-handle.js';
import { TouchThrottle } from './touch-throttle.js';

export type { SessionStoreHandle } from './store-handle.js';

/**
 * Builds the store for `options.type`, then bounds every call by `storeTimeoutMs` and
 * refreshes unchanged sessions only every `touchAfter` seconds.
 * Adding a store type is adding a file and a case here.
 */
export async function createStore(
  options: ResolvedSessionOptions,
): Promise<SessionStoreHandle> {
  const handle = await createRawStore(options);
  return {
    ...handle,
    store: new GuardedStore(
      handle.store,
      options.storeTimeoutMs,
      new TouchThrottle(options.touchAfter * 1000),
    ),
    ping: () => pingWithin(handle.ping, options.storeTimeoutMs),
  };
}

function createRawStore(
  options: ResolvedSessionOptions,
): Promise<SessionStoreHandle> | SessionStoreHandle {
  switch (options.type) {
    case 'redis':
      return createRedisStore(options);
    case 'sql':
      return createSqlStore(options);
    case 'memory':
      return createMemoryStore(options);
    default: {
      const unknown: never = options;
      throw new Error(
        `Unknown session store type: ${JSON.stringify((unknown as { type: unknown }).type)}`,
      );
    }
  }
}
