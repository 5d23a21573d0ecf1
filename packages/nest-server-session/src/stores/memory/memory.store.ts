import { Store, type SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';
import type { ResolvedOptionsOf } from '../../session.options.js';
import {
  createSessionCodec,
  type SessionCodec,
  type StoredSession,
} from '../common/session-codec.js';
import type { SessionStoreHandle } from '../common/store-handle.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';
import type { Callback } from '../common/store-callback.js';

/**
 * In-process store for tests and demos. Unlike express-session's MemoryStore it is bounded
 * (least recently used sessions go first) and expires entries by TTL, so it cannot grow
 * without limit. Values are kept encoded so callers never share objects with the store.
 */
export class LruSessionStore extends Store {
  private readonly cache: LRUCache<string, StoredSession>;

  constructor(
    private readonly prefix: string,
    private readonly lifetimeSeconds: number,
    maxSessions: number,
    private readonly codec: SessionCodec = createSessionCodec(),
  ) {
    super();
    this.cache = new LRUCache({
      max: maxSessions,
      ttl: lifetimeSeconds * 1000,
    });
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    const raw = this.cache.get(this.prefix + sid);
    cb(null, raw === undefined ? null : this.codec.decode(raw));
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    const ttl = sessionTtlSeconds(session, this.lifetimeSeconds);
    if (ttl <= 0) this.cache.delete(this.prefix + sid);
    else
      this.cache.set(this.prefix + sid, this.codec.encode(session), {
        ttl: ttl * 1000,
      });
    cb?.();
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    const raw = this.cache.get(this.prefix + sid);
    const stored = raw === undefined ? null : this.codec.decode(raw);
    if (stored) {
      this.set(sid, { ...stored, cookie: session.cookie }, cb);
    } else {
      cb?.();
    }
  }

  destroy(sid: string, cb?: Callback): void {
    this.cache.delete(this.prefix + sid);
    cb?.();
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    const sessions: { [sid: string]: SessionData } = {};
    for (const [key, raw] of this.cache.entries()) {
      const session = key.startsWith(this.prefix)
        ? this.codec.decode(raw)
        : null;
      if (session) sessions[key.slice(this.prefix.length)] = session;
    }
    cb(null, sessions);
  }

  length(cb: Callback<number>): void {
    this.all((_err, sessions) => cb(null, Object.keys(sessions ?? {}).length));
  }

  clear(cb?: Callback): void {
    // Copied first: deleting while iterating the cache would skip entries.
    for (const key of Array.from(this.cache.keys())) {
      if (key.startsWith(this.prefix)) this.cache.delete(key);
    }
    cb?.();
  }
}

export function createMemoryStore(
  options: ResolvedOptionsOf<'memory'>,
  codec: SessionCodec,
): SessionStoreHandle {
  const store = new LruSessionStore(
    options.prefix,
    options.lifetime,
    options.maxSessions,
    codec,
  );
  return {
    type: 'memory',
    store,
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
