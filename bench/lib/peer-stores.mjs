/**
 * The peers our stores are measured against, each on the same server as ours, configured as
 * its README shows (defaults, except: no log lines, and on SQLite the same WAL journal and
 * `synchronous=NORMAL` our store sets, so both sides write to the database the same way).
 * They are devDependencies, used only by the benchmarks.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import betterSqlite3SessionStore from 'better-sqlite3-session-store';
import connectMemcached from 'connect-memcached';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import expressMysqlSession from 'express-mysql-session';
import session from 'express-session';
import { Redis } from 'ioredis';
import knex from 'knex';
import sessionFileStore from 'session-file-store';
import { sqlConnection, valueOf } from './sql-inspect.mjs';
import { dropAtCleanup, uniqueTable } from './sql-servers.mjs';

const SILENT = { warn() {}, error() {}, debug() {}, deprecate() {} };
/** The journal and sync mode our SQLite store sets on its connections. */
const sqlitePragmas = (db) => {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
};
const asMs = (date) => (date === null ? null : new Date(date).getTime());

/** connect-session-knex on `server` (a SQLite file in its folder, or a table on a server). */
async function openKnexPeer(server, cleanup) {
  const table = uniqueTable('bench_knex');
  const filename = server.dir && join(server.dir, 'knex.sqlite');
  const db = filename
    ? knex({
        client: 'better-sqlite3',
        connection: { filename },
        useNullAsDefault: true,
        pool: {
          afterCreate: (conn, done) => (sqlitePragmas(conn), done(null, conn)),
        },
        log: SILENT,
      })
    : knex({
        client: server.sql.client,
        connection: server.sql.url,
        log: SILENT,
      });
  if (!filename) dropAtCleanup(cleanup, server.sql, table);
  const store = new ConnectSessionKnexStore({ knex: db, tableName: table });
  const close = cleanup.add('close connect-session-knex', async () => {
    clearTimeout(store.nextDbCleanup);
    await db.destroy();
  });
  await store.ready;
  return {
    store,
    close,
    expiryOf: async (sid) =>
      asMs(await valueOf(db, table, 'sid', sid, 'expired')),
  };
}

/** The peers of each store kind; `open(server, cleanup)` resolves with a ready store. */
export const PEERS = {
  memory: [
    {
      name: 'express-session MemoryStore',
      package: 'express-session',
      open: async () => {
        const store = new session.MemoryStore();
        return {
          store,
          close: async () => {},
          expiryOf: async (sid) => {
            const raw = store.sessions[sid];
            return raw ? asMs(JSON.parse(raw).cookie.expires) : null;
          },
        };
      },
    },
  ],
  redis: [
    {
      name: 'connect-redis',
      package: 'connect-redis',
      open: async (server, cleanup) => {
        // Bare ioredis, as connect-redis's README sets it up.
        const client = new Redis(server.url);
        const close = cleanup.add('close connect-redis', () => client.quit());
        const store = new RedisStore({ client, prefix: 'sess:' });
        return {
          store,
          close,
          expiryOf: (sid) => server.expiryOf(`sess:${sid}`),
        };
      },
    },
  ],
  memcached: [
    {
      name: 'connect-memcached',
      package: 'connect-memcached',
      open: async (server, cleanup) => {
        const MemcachedStore = connectMemcached(session);
        const store = new MemcachedStore({
          hosts: [server.address],
          prefix: 'cm:',
        });
        const close = cleanup.add('close connect-memcached', () =>
          store.client.end(),
        );
        return {
          store,
          close,
          expiryOf: (sid) => server.expiryOf(`cm:${sid}`),
        };
      },
    },
  ],
  sqlite: [
    {
      name: 'better-sqlite3-session-store',
      package: 'better-sqlite3-session-store',
      open: async (server, cleanup) => {
        const SqliteStore = betterSqlite3SessionStore(session);
        // Its expiry sweep is a setInterval it keeps no handle to (and cannot be turned off):
        // kept, but unref'd, so the benchmark can exit. It first runs after 15 minutes.
        class Unpinned extends SqliteStore {
          startInterval() {
            setInterval(
              () => this.clearExpiredSessions(),
              this.expired.intervalMs,
            ).unref();
          }
        }
        const client = new Database(
          join(server.dir, 'better-sqlite3-session-store.sqlite'),
        );
        sqlitePragmas(client);
        const close = cleanup.add('close better-sqlite3-session-store', () =>
          client.close(),
        );
        const store = new Unpinned({ client });
        return {
          store,
          close,
          expiryOf: async (sid) =>
            asMs(
              client
                .prepare('SELECT expire FROM sessions WHERE sid = ?')
                .get(sid)?.expire ?? null,
            ),
        };
      },
    },
    {
      name: 'connect-session-knex',
      package: 'connect-session-knex',
      open: openKnexPeer,
    },
  ],
  postgres: [
    {
      name: 'connect-pg-simple',
      package: 'connect-pg-simple',
      open: async (server, cleanup) => {
        const PgStore = connectPgSimple(session);
        const tableName = uniqueTable('bench_pgsimple');
        dropAtCleanup(cleanup, server.sql, tableName);
        const store = new PgStore({
          conString: server.sql.url,
          tableName,
          createTableIfMissing: true,
        });
        const close = cleanup.add('close connect-pg-simple', () =>
          store.close(),
        );
        const db = sqlConnection(cleanup, server);
        // Its table is made by the first query.
        await new Promise((resolve, reject) =>
          store.query('SELECT 1', [], (err) => (err ? reject(err) : resolve())),
        );
        return {
          store,
          close,
          expiryOf: async (sid) =>
            asMs(await valueOf(db, tableName, 'sid', sid, 'expire')),
        };
      },
    },
    {
      name: 'connect-session-knex',
      package: 'connect-session-knex',
      open: openKnexPeer,
    },
  ],
  mysql: [
    {
      name: 'express-mysql-session',
      package: 'express-mysql-session',
      open: async (server, cleanup) => {
        const MySQLStore = expressMysqlSession(session);
        const tableName = uniqueTable('bench_mysqlsession');
        dropAtCleanup(cleanup, server.sql, tableName);
        const url = new URL(server.sql.url);
        const store = new MySQLStore({
          host: url.hostname,
          port: Number(url.port || 3306),
          user: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
          database: url.pathname.slice(1),
          schema: { tableName },
        });
        const close = cleanup.add('close express-mysql-session', () =>
          store.close(),
        );
        await store.onReady();
        const db = sqlConnection(cleanup, server);
        return {
          store,
          close,
          expiryOf: async (sid) => {
            const seconds = await valueOf(
              db,
              tableName,
              'session_id',
              sid,
              'expires',
            );
            return seconds === null ? null : Number(seconds) * 1000;
          },
        };
      },
    },
    {
      name: 'connect-session-knex',
      package: 'connect-session-knex',
      open: openKnexPeer,
    },
  ],
  filesystem: [
    {
      name: 'session-file-store',
      package: 'session-file-store',
      open: async (server) => {
        const FileStore = sessionFileStore(session);
        const path = join(server.dir, 'session-file-store');
        // Its reap timer is unref'd; logFn silences the line it prints on every retried read.
        const store = new FileStore({ path, logFn: () => {} });
        return {
          store,
          close: async () => clearInterval(store.options?.reapIntervalObject),
          // It treats a session as expired at __lastAccess + the cookie's originalMaxAge.
          expiryOf: async (sid) => {
            const raw = await readFile(join(path, `${sid}.json`), 'utf8').catch(
              () => null,
            );
            if (!raw) return null;
            const stored = JSON.parse(raw);
            return (
              stored.__lastAccess +
              (stored.cookie?.originalMaxAge ?? 3600 * 1000)
            );
          },
        };
      },
    },
  ],
};
