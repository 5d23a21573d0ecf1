import type { ResolvedSessionOptions } from '../options/session.options.js';
import { StoreUnavailableError } from '../store-unavailable.error.js';
import { ConsistentStore } from './common/consistent-store.js';
import { withDeadline } from './common/deadline.js';
import { startExpirySweeps } from './common/expiry-sweeper.js';
import {
  createSessionCodec,
  type SessionCodec,
} from './common/session-codec.js';
import type { SessionStoreHandle } from './common/store-handle.js';
import { SessionOwners } from './common/session-owners.js';
import { TouchThrottle } from './common/touch-throttle.js';
import { assertDriversInstalled } from './drivers.js';
import type { SessionBackend, StoreHealth } from './store.contract.js';

export type { SessionStoreHandle } from './common/store-handle.js';

/**
 * Builds the store for `options.type` and puts it behind {@link ConsistentStore}: a deadline
 * on every call, compare-and-set writes of what each request changed, and expiry refreshes of
 * unchanged sessions only every `touchAfter` seconds. Where the store has no expiry of its own,
 * expired sessions are swept every `cleanupInterval` seconds.
 * Adding a store type is adding a folder and a case here.
 */
export async function createStore(
  options: ResolvedSessionOptions,
): Promise<SessionStoreHandle> {
  assertDriversInstalled(options);
  const backend = await createBackend(
    options,
    createSessionCodec(options.serialization),
  );
  const removeExpired = backend.removeExpired?.bind(backend);
  const interval = 'cleanupInterval' in options ? options.cleanupInterval : 0;
  const stopSweeps = startExpirySweeps(removeExpired, interval);
  return {
    type: options.type,
    backend,
    store: new ConsistentStore(backend, {
      timeoutMs: options.storeTimeoutMs,
      lifetime: options.lifetime,
      throttle: new TouchThrottle(options.touchAfter * 1000),
      owners: new SessionOwners(backend.users, options),
    }),
    ping: () => pingWithin(() => backend.ping(), options.storeTimeoutMs),
    health: () => healthWithin(backend, options.storeTimeoutMs),
    removeExpired,
    close: async () => {
      await stopSweeps();
      await backend.close();
    },
  };
}

/** Runs `ping` with the same deadline as a store call. */
export function pingWithin(
  ping: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  return withDeadline(
    // A ping that throws instead of rejecting still answers through the promise.
    new Promise<void>((resolve) => resolve(ping())),
    timeoutMs,
    () => new StoreUnavailableError('ping', `timed out after ${timeoutMs} ms`),
  );
}

/**
 * The backend's health report, or where it has none its ping's verdict; either within the
 * store deadline, and never a rejection: what did not answer in time is not ok.
 */
export async function healthWithin(
  backend: SessionBackend,
  timeoutMs: number,
): Promise<StoreHealth> {
  const report = backend.health?.bind(backend);
  if (!report)
    return pingWithin(() => backend.ping(), timeoutMs).then(
      () => ({ ok: true }),
      () => ({ ok: false }),
    );
  return withDeadline(
    new Promise<StoreHealth>((resolve) => resolve(report())),
    timeoutMs,
    () =>
      new StoreUnavailableError('health', `timed out after ${timeoutMs} ms`),
  ).catch((err: unknown) => ({
    ok: false,
    problem: err instanceof Error ? err.message : String(err),
  }));
}

/**
 * Each store's module is imported only for its type, so that its driver (an optional peer
 * dependency) need not be installed by apps that use another store.
 */
async function createBackend(
  options: ResolvedSessionOptions,
  codec: SessionCodec,
): Promise<SessionBackend> {
  switch (options.type) {
    case 'redis':
      return (await import('./redis/redis.store.js')).createRedisBackend(
        options,
        codec,
      );
    case 'memcached':
      return (
        await import('./memcached/memcached.store.js')
      ).createMemcachedBackend(options, codec);
    case 'mongodb':
      return (await import('./mongodb/mongo.store.js')).createMongoBackend(
        options,
        codec,
      );
    case 'sql':
      return (await import('./sql/sql.store.js')).createSqlStore(
        options,
        codec,
      );
    case 'filesystem':
      return (await import('./filesystem/file.store.js')).createFileBackend(
        options,
        codec,
      );
    case 'memory':
      return (await import('./memory/memory.store.js')).createMemoryBackend(
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
