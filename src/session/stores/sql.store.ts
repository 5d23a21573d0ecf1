import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { ResolvedSessionOptions } from '../session.options.js';
import { KnexSessionStore } from './knex-session.store.js';
import type { SessionStoreHandle } from './store-handle.js';

type SqlOptions = Extract<ResolvedSessionOptions, { type: 'sql' }>;

/** `sqlite:./var/x.sqlite`, `sqlite:///abs/x.sqlite` or `sqlite::memory:` to a file name. */
export function sqliteFilename(url: string): string {
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/** The SQL store, on SQLite through better-sqlite3: the embedded default that needs no server. */
export async function createSqlStore(
  options: SqlOptions,
): Promise<SessionStoreHandle> {
  const filename = sqliteFilename(options.url);
  if (filename !== ':memory:')
    await mkdir(dirname(filename), { recursive: true });
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      // WAL lets readers proceed during a write; busy_timeout bounds the wait for a lock held
      // by another process (better-sqlite3 is synchronous, so this is our only deadline).
      afterCreate: (
        conn: SqliteConnection,
        done: (err: Error | null, conn: unknown) => void,
      ) => {
        try {
          conn.pragma('journal_mode = WAL');
          conn.pragma(`busy_timeout = ${options.storeTimeoutMs}`);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  } satisfies Knex.Config);
  const store = new KnexSessionStore(
    db,
    options.tableName,
    options.prefix,
    options.lifetime,
  );
  try {
    await store.createTable();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return {
    type: 'sql',
    store,
    ping: async () => {
      await db.raw('select 1');
    },
    close: () => db.destroy(),
  };
}

interface SqliteConnection {
  pragma(source: string): unknown;
}
