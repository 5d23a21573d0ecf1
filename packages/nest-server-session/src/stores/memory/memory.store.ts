import type { SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';
import { sessionIdOfKey } from '../../session-id.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec, StoredSession } from '../common/session-codec.js';
import type {
  IndexedSession,
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionDevice,
  SessionListing,
  SessionVersion,
  UserSessionIndex,
} from '../store.contract.js';

interface Entry {
  /** Encoded, so callers never share objects with the store. */
  raw: StoredSession;
  /** Bumped on every write; what `replace` compares. */
  version: number;
}

const DEFAULT_PAGE = 1000;

/**
 * In-process sessions for tests and demos. Unlike express-session's MemoryStore it is bounded
 * (least recently used sessions go first) and expires entries by TTL, so it cannot grow without
 * limit. Every call runs to completion synchronously, which makes `replace` atomic.
 */
export class MemorySessionBackend implements SessionBackend {
  readonly type = 'memory';
  readonly inProcess = true;
  readonly listing: SessionListing;
  readonly users: UserSessionIndex;
  private readonly cache: LRUCache<string, Entry>;
  /** Each user's sessions, by id. */
  private readonly byUser = new Map<string, Map<string, SessionDevice>>();
  private lastVersion = 0;

  constructor(
    private readonly prefix: string,
    lifetimeSeconds: number,
    maxSessions: number,
    private readonly codec: SessionCodec,
  ) {
    this.cache = new LRUCache({
      max: maxSessions,
      ttl: lifetimeSeconds * 1000,
    });
    this.listing = {
      ids: (pageSize) => this.ids(pageSize),
      loadMany: (sids) => this.loadMany(sids),
      count: async () => (await this.ownKeys()).length,
      clear: async () => {
        const keys = await this.ownKeys();
        keys.forEach((key) => this.cache.delete(key));
        return keys.length;
      },
    };
    this.users = {
      add: async (userId, sid, device) => {
        const sessions = this.byUser.get(userId) ?? new Map();
        // Pruned on every login, so users who never list their sessions do not grow it.
        for (const known of sessions.keys())
          if (!this.cache.has(this.prefix + known)) sessions.delete(known);
        this.byUser.set(userId, sessions.set(sid, device));
      },
      remove: async (userId, sids) => {
        const sessions = this.byUser.get(userId);
        sids.forEach((sid) => sessions?.delete(sid));
        if (sessions?.size === 0) this.byUser.delete(userId);
      },
      list: async (userId) => this.sessionsOf(userId),
    };
  }

  async load(sid: string): Promise<LoadedSession | null> {
    const entry = this.cache.get(this.prefix + sid);
    const session = entry && this.codec.decode(entry.raw);
    return session ? { session, version: entry.version } : null;
  }

  async create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    return this.write(this.prefix + sid, session, ttlSeconds);
  }

  async replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    const key = this.prefix + sid;
    const entry = this.cache.get(key);
    if (!entry) return { status: 'gone' };
    if (entry.version !== version) {
      const current = this.codec.decode(entry.raw);
      return current
        ? {
            status: 'conflict',
            current: { session: current, version: entry.version },
          }
        : { status: 'gone' };
    }
    return {
      status: 'replaced',
      version: this.write(key, session, ttlSeconds),
    };
  }

  async touch(sid: string, ttlSeconds: number): Promise<boolean> {
    const key = this.prefix + sid;
    const entry = this.cache.get(key);
    if (!entry) return false;
    this.cache.set(key, entry, { ttl: ttlSeconds * 1000 });
    return true;
  }

  async destroy(sid: string): Promise<boolean> {
    return this.cache.delete(this.prefix + sid);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  /** `userId`'s live sessions with their expiry; entries of ended ones are pruned. */
  private sessionsOf(userId: string): IndexedSession[] {
    const sessions = this.byUser.get(userId);
    const live: IndexedSession[] = [];
    for (const [sid, device] of sessions ?? []) {
      const key = this.prefix + sid;
      if (!this.cache.has(key)) sessions!.delete(sid);
      else
        live.push({
          sid,
          device,
          expiresAt: Date.now() + this.cache.getRemainingTTL(key),
        });
    }
    return live;
  }

  private write(key: string, session: SessionData, ttlSeconds: number): number {
    const version = ++this.lastVersion;
    this.cache.set(
      key,
      { raw: this.codec.encode(session), version },
      { ttl: ttlSeconds * 1000 },
    );
    return version;
  }

  private async *ids(pageSize = DEFAULT_PAGE): AsyncIterable<string[]> {
    const keys = await this.ownKeys();
    for (let i = 0; i < keys.length; i += pageSize)
      yield keys
        .slice(i, i + pageSize)
        .map((key) => key.slice(this.prefix.length));
  }

  /** Peeks, so that listing sessions does not make them recently used. */
  private async loadMany(sids: string[]): Promise<Map<string, SessionData>> {
    const found = new Map<string, SessionData>();
    for (const sid of sids) {
      const entry = this.cache.peek(this.prefix + sid);
      const session = entry && this.codec.decode(entry.raw);
      if (session) found.set(sid, session);
    }
    return found;
  }

  /** Keys of this prefix's live sessions, copied so that deleting while listing is safe. */
  private async ownKeys(): Promise<string[]> {
    return [...this.cache.keys()].filter(
      (key) => sessionIdOfKey(key, this.prefix) !== undefined,
    );
  }
}

export function createMemoryBackend(
  options: ResolvedOptionsOf<'memory'>,
  codec: SessionCodec,
): SessionBackend {
  return new MemorySessionBackend(
    options.prefix,
    options.lifetime,
    options.maxSessions,
    codec,
  );
}
