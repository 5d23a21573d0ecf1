import type { RequestHandler } from 'express';

/**
 * Options of {@link SessionModule}: one shape per store type, keyed on `type`, so that
 * `forRoot({ type: 'redis', secret })` without a `url` does not compile.
 */

/** Every store type, Flask-Session's and ours. */
export const SESSION_TYPES = [
  'redis',
  'memcached',
  'mongodb',
  'sql',
  'filesystem',
  'memory',
] as const;

export type SessionType = (typeof SESSION_TYPES)[number];

/** How a session is encoded in the store; reading accepts either, whatever is configured. */
export const SERIALIZATION_FORMATS = ['json', 'msgpack'] as const;
export type SerializationFormat = (typeof SERIALIZATION_FORMATS)[number];

export const DEFAULT_PREFIX = 'session:';
export const DEFAULT_COOKIE_NAME = 'session';
/** 31 days, Flask's PERMANENT_SESSION_LIFETIME. */
export const DEFAULT_LIFETIME_SECONDS = 2_678_400;
export const DEFAULT_STORE_TIMEOUT_MS = 1000;
export const DEFAULT_MEMORY_MAX_SESSIONS = 10_000;
export const DEFAULT_SQL_TABLE = 'sessions';
export const DEFAULT_MONGODB_COLLECTION = 'sessions';
export const DEFAULT_FILE_DIR = './var/sessions';
export const DEFAULT_MEMCACHED_SERVERS = ['127.0.0.1:11211'];
/** Hourly sweeps of expired sessions on stores without a TTL of their own. */
export const DEFAULT_CLEANUP_INTERVAL_SECONDS = 3600;

export type SameSite = 'lax' | 'strict' | 'none';

export interface SessionCookieOptions {
  /** Name of the cookie that carries the signed session id. @default 'session' */
  name?: string;
  /** Send the cookie over HTTPS only. @default false */
  secure?: boolean;
  /** SameSite attribute. `none` requires `secure`. @default 'lax' */
  sameSite?: SameSite;
  /** Domain attribute; host-only when unset. @default undefined */
  domain?: string;
  /** Path attribute. @default '/' */
  path?: string;
}

interface BaseSessionOptions {
  /**
   * Secret(s) that sign the session id cookie. With a list, the first signs and all verify,
   * so a secret can be rotated without logging everybody out.
   */
  secret: string | string[];
  /** Prepended to the session id to form every stored key. @default 'session:' */
  prefix?: string;
  /** Cookie attributes. HttpOnly is always on. */
  cookie?: SessionCookieOptions;
  /**
   * Lifetime in seconds: the store TTL, set on every write and never longer, and the cookie's
   * Max-Age when `permanent`. @default 2678400 (31 days)
   */
  lifetime?: number;
  /**
   * `true`: the cookie carries Max-Age = lifetime. `false`: a browser-session cookie; the
   * store still expires the session after `lifetime`. @default true
   */
  permanent?: boolean;
  /**
   * Milliseconds a single store call may take before the request fails with 503.
   * @default 1000
   */
  storeTimeoutMs?: number;
  /**
   * Seconds after a session was written or refreshed before a request that changes nothing
   * refreshes its store expiry again (connect-mongo's `touchAfter`). The store entry then
   * lives between `lifetime - touchAfter` and `lifetime` past the last request; 0 refreshes on
   * every request. Must be less than `lifetime`. @default lifetime / 10, rounded down
   */
  touchAfter?: number;
  /**
   * Routes the session middleware skips (Nest route paths), e.g. a health check that must
   * answer without loading a session. @default []
   */
  excludeRoutes?: string[];
  /**
   * Let GET and HEAD requests that carry no session cookie skip the session layer entirely:
   * `req.session` is undefined there, and no session object, id or hash is made. Anonymous
   * page views are then as cheap as without sessions; handlers must read `req.session?.x` and
   * may only write to a session on other methods or once one exists. @default false
   */
  skipAnonymousReads?: boolean;
  /**
   * Middleware mounted right after the session middleware, on the same routes (so not on
   * `excludeRoutes`): what needs `req.session`, such as passport's
   * `[passport.initialize(), passport.session()]`, which `app.use` in main.ts would run before
   * the module's session middleware. On a GET/HEAD that skips the session layer
   * (`skipAnonymousReads`) they see an empty session, frozen and never saved (passport finds no
   * user in it), and `req.session` is undefined again after them. @default []
   */
  afterSession?: RequestHandler[];
  /**
   * Encoding of new writes: `json`, or `msgpack` (smaller, as Flask-Session 0.7 offers).
   * Sessions stored in the other format still load and are rewritten in this one on their
   * next save. @default 'json'
   */
  serialization?: SerializationFormat;
}

/** Options of the stores that expire sessions themselves rather than by a server-side TTL. */
interface SweptStoreOptions {
  /**
   * Seconds between sweeps that delete expired sessions; 0 disables them (run
   * `npm run sessions:cleanup` from cron instead). Expired sessions never load either way.
   * @default 3600
   */
  cleanupInterval?: number;
}

export interface RedisSessionOptions extends BaseSessionOptions {
  type: 'redis';
  /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
}

export interface MemcachedSessionOptions extends BaseSessionOptions {
  type: 'memcached';
  /** `host:port` of each server; keys are spread across them. */
  servers: string[];
}

export interface MongoSessionOptions extends BaseSessionOptions {
  type: 'mongodb';
  /** `mongodb://` or `mongodb+srv://` connection string, database included. */
  url: string;
  /** Collection that holds the sessions; a TTL index on it expires them. @default 'sessions' */
  collectionName?: string;
}

export interface SqlSessionOptions
  extends BaseSessionOptions, SweptStoreOptions {
  type: 'sql';
  /**
   * `sqlite:<path>` (relative to the working directory), `sqlite::memory:`,
   * `postgres://user:pass@host:port/db` or `mysql://user:pass@host:port/db` (MySQL or MariaDB).
   */
  url: string;
  /** Table that holds the sessions; created with its index on first start. @default 'sessions' */
  tableName?: string;
  /** Schema of the table (PostgreSQL only); the connection's search path when unset. */
  schemaName?: string;
}

export interface FileSessionOptions
  extends BaseSessionOptions, SweptStoreOptions {
  type: 'filesystem';
  /** Directory of the session files (created, mode 0700). @default './var/sessions' */
  directory?: string;
}

export interface MemorySessionOptions extends BaseSessionOptions {
  type: 'memory';
  /** Most sessions kept; the least recently used go first. @default 10000 */
  maxSessions?: number;
}

export type SessionModuleOptions =
  | RedisSessionOptions
  | MemcachedSessionOptions
  | MongoSessionOptions
  | SqlSessionOptions
  | FileSessionOptions
  | MemorySessionOptions;

type Resolved<T extends BaseSessionOptions> = Omit<
  Required<T>,
  'secret' | 'cookie' | 'schemaName'
> &
  Pick<SqlSessionOptions, 'schemaName'> & {
    secret: string[];
    cookie: Required<Omit<SessionCookieOptions, 'domain'>> &
      Pick<SessionCookieOptions, 'domain'>;
  };

/** Options after {@link validateSessionOptions}: defaults filled in, secrets as a list. */
export type ResolvedSessionOptions =
  | Resolved<RedisSessionOptions>
  | Resolved<MemcachedSessionOptions>
  | Resolved<MongoSessionOptions>
  | Resolved<SqlSessionOptions>
  | Resolved<FileSessionOptions>
  | Resolved<MemorySessionOptions>;

/** The resolved options of one store type, as its store file receives them. */
export type ResolvedOptionsOf<T extends SessionType> = Extract<
  ResolvedSessionOptions,
  { type: T }
>;
