import { Store, type SessionData } from 'express-session';
import type { Client } from 'memjs';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import {
  checkMemcachedKey,
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';
import { connectMemjs, type MemjsConnection } from './memjs-client.js';
import type { SessionCodec } from '../common/session-codec.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';
import { settle, type Callback } from '../common/store-callback.js';
import type { LegacyHandle as SessionStoreHandle } from '../common/legacy-backend.js';

export {
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';

type Options = ResolvedOptionsOf<'memcached'>;

/**
 * Sessions in memcached under `prefix + sid`, encoded by the codec, expiring with the session.
 * Memcached cannot list keys, so all(), length() and clear() are left out on purpose.
 */
export class MemcachedSessionStore extends Store {
  constructor(
    private readonly memjs: MemjsConnection,
    private readonly codec: SessionCodec,
    private readonly options: Pick<Options, 'prefix' | 'lifetime'>,
  ) {
    super();
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.run(sid, cb, async (key, client) => {
      const { value } = await client.get(key);
      return value ? this.codec.decode(value, key) : null;
    });
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    this.run(sid, cb, async (key, client) => {
      const ttl = sessionTtlSeconds(session, this.options.lifetime);
      if (ttl <= 0) return void (await client.delete(key));
      const value = this.codec.encode(session);
      const bytes = Buffer.byteLength(value);
      // Refused here, so the version stored before stays readable.
      if (bytes > MEMCACHED_MAX_VALUE_BYTES)
        throw new SessionTooLargeError(
          'memcached',
          bytes,
          MEMCACHED_MAX_VALUE_BYTES,
        );
      await client.set(key, value, { expires: memcachedExpiry(ttl) });
    });
  }

  /** Moves the expiry only; a session that is gone stays gone. */
  touch(sid: string, session: SessionData, cb?: Callback): void {
    this.run(sid, cb, async (key, client) => {
      const ttl = sessionTtlSeconds(session, this.options.lifetime);
      // memjs sends 0 as "never expires" and cannot encode a negative expiry.
      if (ttl <= 0) return void (await client.delete(key));
      await client.touch(key, memcachedExpiry(ttl));
    });
  }

  destroy(sid: string, cb?: Callback): void {
    this.run(sid, cb, async (key, client) => void (await client.delete(key)));
  }

  private run<T>(
    sid: string,
    cb: Callback<T> | undefined,
    work: (key: string, client: Client) => Promise<T>,
  ): void {
    const key = this.options.prefix + sid;
    const attempt = async () => {
      checkMemcachedKey(key);
      return work(key, this.memjs.client);
    };
    settle(this.memjs.call(key, attempt()), cb);
  }
}

/**
 * The memcached store over `options.servers`. Memcached need not be up: startup spends at most
 * one failed ping on it, calls fail within `storeTimeoutMs` (503s) while it is away, and work
 * again once it is back.
 */
export async function createMemcachedStore(
  options: Options,
  codec: SessionCodec,
): Promise<SessionStoreHandle> {
  const memjs = connectMemjs(options.servers, options.storeTimeoutMs);
  // Opens the connections so that the first requests need not; a failure is logged, not thrown.
  await memjs.ping().catch(() => undefined);
  return {
    type: 'memcached',
    store: new MemcachedSessionStore(memjs, codec, options),
    ping: () => memjs.ping(),
    close: () => memjs.close(),
  };
}
