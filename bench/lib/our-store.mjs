/**
 * Our store exactly as the app builds it: options from the environment, validated, then
 * `createStore` from the built package (packages/nest-server-session/dist): the
 * ConsistentStore over the backend, with its deadline, touch throttle and user index.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  sessionOptionsFromEnv,
  validateSessionOptions,
} from '../../packages/nest-server-session/dist/index.js';
import { createStore } from '../../packages/nest-server-session/dist/stores/index.js';
import { BENCH_SECRET } from './measure.mjs';
import { sqlConnection, valueOf } from './sql-inspect.mjs';
import { uniqueTable, dropAtCleanup } from './sql-servers.mjs';

export const OUR_PREFIX = 'session:';

/**
 * The environment our store of `kind` runs with on `server`, in a keyspace, file, table or
 * folder named after `label` so that several of ours can share a server.
 */
function envFor(kind, server, label, cleanup) {
  switch (kind) {
    case 'memory':
      return { SESSION_TYPE: 'memory' };
    case 'redis':
      return { SESSION_TYPE: 'redis', REDIS_URL: server.url };
    case 'memcached':
      return { SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: server.address };
    case 'sqlite':
      return {
        SESSION_TYPE: 'sql',
        DATABASE_URL: `sqlite:${join(server.dir, `${label}.sqlite`)}`,
      };
    case 'postgres':
    case 'mysql': {
      const table = uniqueTable(`bench_${label}`);
      dropAtCleanup(cleanup, server.sql, table);
      return {
        SESSION_TYPE: 'sql',
        DATABASE_URL: server.sql.url,
        SESSION_SQL_TABLE: table,
      };
    }
    case 'filesystem':
      return {
        SESSION_TYPE: 'filesystem',
        SESSION_FILE_DIR: join(server.dir, label),
      };
  }
  throw new Error(`unknown store kind ${kind}`);
}

/**
 * Opens our store of `kind` on `server`. `env` adds settings (SESSION_TOUCH_AFTER, ...);
 * `options` sets what has no variable (the memory store's `maxSessions`). The prefix of a
 * key-value store is `label:`, so that two of ours on one server never share a session.
 */
export function openOurStore(
  kind,
  server,
  cleanup,
  { label = 'ours', env = {}, options = {} } = {},
) {
  const prefix =
    kind === 'redis' || kind === 'memcached' ? `${label}:` : OUR_PREFIX;
  const fullEnv = {
    SESSION_SECRET: BENCH_SECRET,
    SESSION_KEY_PREFIX: prefix,
    ...envFor(kind, server, label, cleanup),
    ...env,
  };
  return openWith(kind, server, cleanup, fullEnv, options);
}

/**
 * Another of ours over the same sessions as `side` (its keyspace, table or folder), with
 * `env` added: as a second app instance would be. (Not for memory, which shares nothing.)
 */
export const reopenOurStore = (side, server, cleanup, env) =>
  openWith(
    side.kind,
    server,
    cleanup,
    { ...side.env, ...env },
    side.extraOptions,
  );

async function openWith(kind, server, cleanup, env, options) {
  const { options: fromEnv } = sessionOptionsFromEnv(env);
  const resolved = validateSessionOptions({ ...fromEnv, ...options });
  const handle = await createStore(resolved);
  const close = cleanup.add(`close our ${kind} store`, () => handle.close());
  return {
    name: 'ours',
    kind,
    handle,
    store: handle.store,
    backend: handle.backend,
    options: resolved,
    extraOptions: options,
    env,
    expiryOf: expiryReader(kind, server, resolved, handle, cleanup),
    close,
  };
}

/** Reads the expiry (epoch ms) our store recorded for a session, or null when it has none. */
function expiryReader(kind, server, options, handle, cleanup) {
  const key = (sid) => options.prefix + sid;
  switch (kind) {
    case 'memory':
      return async (sid) => {
        // The LRU cache is the memory store's internal state; read only, for the check.
        const left = handle.backend.cache.getRemainingTTL(key(sid));
        return left > 0 ? Date.now() + left : null;
      };
    case 'redis':
    case 'memcached':
      return (sid) => server.expiryOf(key(sid));
    case 'sqlite':
    case 'postgres':
    case 'mysql': {
      const file =
        kind === 'sqlite' ? options.url.slice('sqlite:'.length) : undefined;
      let db;
      return async (sid) => {
        db ??= sqlConnection(cleanup, server, file);
        const at = await valueOf(
          db,
          options.tableName,
          'sid',
          key(sid),
          'expires_at',
        );
        return at === null ? null : Number(at);
      };
    }
    case 'filesystem':
      return async (sid) => {
        const name = `${Buffer.from(key(sid)).toString('base64url')}.session`;
        const stats = await stat(join(options.directory, name)).catch(
          () => null,
        );
        return stats ? stats.mtimeMs : null;
      };
  }
  throw new Error(`unknown store kind ${kind}`);
}
