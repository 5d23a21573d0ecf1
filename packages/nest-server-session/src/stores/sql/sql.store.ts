import { Logger } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { SessionBackend } from '../store.contract.js';
import { KnexSessionBackend } from './knex-session.store.js';
import { SessionTable } from './session-table.js';
import { sweepBucketMs } from './sweep-after.js';

type SqlOptions = ResolvedOptionsOf<'sql'>;

/** `sqlite:./var/x.sqlite`, `sqlite:///abs/x.sqlite` or `sqlite::memory:` to a file name. */
export function sqliteFilename(url: string): string {
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/**
 * The SQL store through knex: SQLite (better-sqlite3, the embedded default that needs no
 * server), PostgreSQL (pg) or MySQL/MariaDB (mysql2), chosen by the URL's scheme.
 */
export async function createSqlStore(
  options: SqlOptions,
  codec: SessionCodec,
): Promise<SessionBackend> {
  const sqlite = options.url.startsWith('sqlite:');
  const db = knexFactory({
    ...(sqlite ? await sqliteConfig(options) : serverConfig(options)),
    log: knexLog(),
  });
  const table = new SessionTable(
    db,
    options.tableName,
    options.schemaName,
    options.storeTimeoutMs,
    sweepBucketMs(options.lifetime),
  );
  const backend = new KnexSessionBackend(table, options.prefix, codec);
  try {
    await backend.ready();
  } catch (err) {
    // A local file that cannot be opened is a setting to fix; a database server that is down
    // is an outage: the app starts, answers 503 and creates the table once the server is back.
    if (sqlite) {
      await db.destroy();
      throw err;
    }
    new Logger('SqlSessionStore').warn(
      `Cannot prepare table "${options.tableName}" yet: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return backend;
}

/**
 * knex prints pool errors to the console; each failed call is already logged once, with its
 * reason, by the consistent store, so these go to the debug level rather than doubling the log.
 */
function knexLog(): Knex.Config['log'] {
  const logger = new Logger('SqlSessionStore');
  const debug = (message: unknown) => logger.debug(String(message));
  return { warn: debug, error: debug, deprecate: debug, debug };
}

async function sqliteConfig(options: SqlOptions): Promise<Knex.Config> {
  const filename = sqliteFilename(options.url);
  if (filename !== ':memory:')
    await mkdir(dirname(filename), { recursive: true });
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      // WAL lets readers proceed during a write; busy_timeout bounds the wait for a lock held
      // by another process (better-sqlite3 is synchronous, so this is our only deadline).
      // synchronous=NORMAL, SQLite's advice for WAL: a commit does not wait for the disk (only
      // checkpoints do), so a write blocks the event loop for a few milliseconds rather than an
      // fsync's tens; a power cut may lose the last writes, never the database.
      afterCreate: (
        conn: SqliteConnection,
        done: (err: Error | null, conn: unknown) => void,
      ) => {
        try {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma(`busy_timeout = ${options.storeTimeoutMs}`);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  };
}

/**
 * PostgreSQL or MySQL/MariaDB. Every wait is bounded by the store timeout: connecting, a free
 * pool connection, and each statement (by the session table, which also drops a connection
 * whose statement missed it); the pool keeps no idle connection to a server that is gone.
 */
function serverConfig(options: SqlOptions): Knex.Config {
  const timeout = options.storeTimeoutMs;
  const pool = { min: 0, max: 10, idleTimeoutMillis: 30_000 };
  if (/^postgres(ql)?:/.test(options.url)) {
    return {
      client: 'pg',
      connection: {
        connectionString: options.url,
        connectionTimeoutMillis: timeout,
      },
      pool,
      acquireConnectionTimeout: timeout,
    };
  }
  const uri = options.url.replace(/^mariadb:/, 'mysql:');
  return {
    client: 'mysql2',
    connection: {
      uri,
      // knex reads the database from here (for columnInfo); mysql2 takes it from the uri.
      database: decodeURIComponent(new URL(uri).pathname.slice(1)),
      connectTimeout: timeout,
      charset: 'utf8mb4',
      // BIGINT expiry and version as numbers, not strings.
      supportBigNumbers: true,
    },
    pool,
    acquireConnectionTimeout: timeout,
  } as Knex.Config;
}

interface SqliteConnection {
  pragma(source: string): unknown;
}
