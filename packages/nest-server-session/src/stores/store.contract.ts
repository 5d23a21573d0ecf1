import type { SessionData } from 'express-session';
import type { SessionType } from '../options/session.options.js';

/**
 * What every store provides. Keys are `prefix + sid`; a store keeps one value per key (the
 * session, JSON or msgpack, as the codec wrote it) so that sessions written before an upgrade
 * keep loading. Callers (the consistent store) bound every call with the store deadline and
 * turn failures into 503s; a store only has to reject with an error that names no session id,
 * session data or credential.
 *
 * Concurrency is the store's job: `replace` is an atomic compare-and-set on the server (a Lua
 * script, a conditional UPDATE, memcached CAS, ...), so that a request writes only onto the
 * version it read, and nothing re-creates a session that another request destroyed.
 */
export interface SessionBackend {
  readonly type: SessionType;

  /**
   * True where every call settles without I/O (the memory store): nothing can hang, so no
   * deadline is kept for its calls (a timer entry and two promises each, per call).
   */
  readonly inProcess?: boolean;

  /** The live session stored under `sid`, with its version; null when absent or expired. */
  load(sid: string): Promise<LoadedSession | null>;

  /**
   * Stores a session under a fresh id (a login, a first save). It may overwrite: ids are
   * 192-bit random and never reused. Resolves with the version written.
   */
  create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion>;

  /**
   * Optional: as {@link create}, and adds the session to its user's index in the same write,
   * both or neither (a login). Where a store has it, a login costs one command; elsewhere the
   * session and its index entry are written side by side.
   */
  readonly createOwned?: CreateOwned;

  /**
   * Optional: as {@link destroy}, and removes the session from `userId`'s index in the same
   * write (a logout, a login's end of the old session, a revoke). Where a store has it, that
   * is one command; elsewhere the entry is removed after the session.
   */
  readonly destroyOwned?: DestroyOwned;

  /**
   * Atomically: if the session is still stored, live, at `version`, replaces it with `session`
   * and a fresh expiry; if it is stored at another version, changes nothing and reports the
   * conflict (with the current version when that costs nothing more); if it is gone (destroyed,
   * expired), writes nothing.
   */
  replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome>;

  /**
   * Moves the expiry of a live session to `ttlSeconds` from now without touching its data
   * (so it cannot undo a concurrent write). Never re-creates: false when there is none.
   */
  touch(sid: string, ttlSeconds: number): Promise<boolean>;

  /** Deletes the session; true when this call removed a live one. */
  destroy(sid: string): Promise<boolean>;

  /** Resolves when the server answers a trivial request; used by health checks. */
  ping(): Promise<void>;

  /**
   * A fuller report for health checks, where the store has more to say than that it answers
   * (its mode, its servers, whether it can take writes); stores without it are reported from
   * `ping`.
   */
  health?(): Promise<StoreHealth>;

  /** Releases connections and timers. */
  close(): Promise<void>;

  /** Listing, where the store can list its keys (memcached cannot). */
  readonly listing?: SessionListing;

  /** The per-user index: which sessions each user has, listed without a scan of all sessions. */
  readonly users?: UserSessionIndex;

  /**
   * Deletes expired sessions of every prefix, in bounded batches; resolves with how many went.
   * Only on stores with no expiry of their own (sql, filesystem).
   */
  removeExpired?(options?: SweepOptions): Promise<number>;
}

/** What a health check reports of a store's servers. */
export interface StoreHealth {
  /** Whether sessions can be read and written now. */
  ok: boolean;
  /** How the store reaches its servers, where it has a choice (Redis: single, sentinel, cluster). */
  mode?: string;
  /** The servers the store sees, with their role and whether they are up. */
  nodes?: StoreNodeHealth[];
  /** Why it is not ok, in words that name no credential. */
  problem?: string;
}

export interface StoreNodeHealth {
  /** `host:port` */
  address: string;
  role: 'master' | 'replica' | 'sentinel' | 'unknown';
  up: boolean;
}

/**
 * Opaque token of one stored version of a session, handed back to `replace` by whoever loaded
 * it: a digest of the stored bytes, a version column, a memcached CAS value, a file identity.
 */
export type SessionVersion = unknown;

export interface LoadedSession {
  /** A fresh object decoded from the store; the caller may keep and change it. */
  session: SessionData;
  version: SessionVersion;
}

export type ReplaceOutcome =
  | { status: 'replaced'; version: SessionVersion }
  | { status: 'gone' }
  /** `current` when the store saw it anyway (Redis returns it); else the caller loads it. */
  | { status: 'conflict'; current?: LoadedSession };

/**
 * The sessions of one prefix. A key belongs to the prefix when it is exactly the prefix
 * followed by a session id (32 characters of base64url), so two apps whose prefixes share a
 * beginning (`app`, `app2`) or contain pattern characters (`x:[ab]:`) never see each other's.
 */
export interface SessionListing {
  /** Ids of the stored sessions, a page at a time; never all of them in memory at once. */
  ids(pageSize?: number): AsyncIterable<string[]>;
  /** The live sessions among `sids`; absent and expired ones are left out. */
  loadMany(sids: string[]): Promise<Map<string, SessionData>>;
  /** How many live sessions there are. */
  count(): Promise<number>;
  /** Deletes every session of the prefix; resolves with how many went. */
  clear(): Promise<number>;
}

export interface SweepOptions {
  /** Most sessions deleted per statement or step. */
  batchSize?: number;
  /** Stops between batches once aborted (the app shuts down); the count so far is returned. */
  signal?: AbortSignal;
  /**
   * Rests after each batch as long as it took, so that requests meanwhile wait for one batch
   * at most: what the periodic sweep asks for. The cleanup command runs flat out.
   */
  paced?: boolean;
}

/**
 * Which sessions belong to which user, kept beside the sessions (a Redis hash per user, a
 * table in SQL, a folder per user on disk, ...). Listing and revoking cost O(that user's
 * sessions). Entries are added before the session is written and removed after it is
 * destroyed, so a live session is never missing from its user's list; entries of sessions
 * that ended otherwise (expiry, a lost race) are pruned when listed.
 */
export interface UserSessionIndex {
  /** Records `sid` as one of `userId`'s sessions, kept at least `ttlSeconds`. */
  add(
    userId: string,
    sid: string,
    device: SessionDevice,
    ttlSeconds: number,
  ): Promise<void>;
  /** Forgets `sids` of `userId`. */
  remove(userId: string, sids: string[]): Promise<void>;
  /**
   * `userId`'s live sessions with their expiry; entries whose session is gone are left out
   * (and pruned).
   */
  list(userId: string): Promise<IndexedSession[]>;
}

/** What a user's list of sessions shows of each, recorded when the session got its user. */
/** {@link SessionBackend.createOwned}. */
export type CreateOwned = (
  sid: string,
  session: SessionData,
  ttlSeconds: number,
  owner: SessionOwner,
) => Promise<SessionVersion>;

/** {@link SessionBackend.destroyOwned}. */
export type DestroyOwned = (sid: string, userId: string) => Promise<boolean>;

/** Whose a new session is, as its user's index records it. */
export interface SessionOwner {
  userId: string;
  device: SessionDevice;
}

export interface SessionDevice {
  /** When the user logged in on it (epoch ms). */
  createdAt: number;
  userAgent?: string;
  /** Only when IP tracking is on. */
  ip?: string;
}

export interface IndexedSession {
  sid: string;
  device: SessionDevice;
  /**
   * When the session expires in the store (epoch ms); it was last refreshed one lifetime
   * before. Null where the store cannot tell (memcached, when a refresh failed to reach the
   * index).
   */
  expiresAt: number | null;
}
