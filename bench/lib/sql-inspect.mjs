/**
 * A connection of the benchmark's own to where a store keeps its SQL rows (a SQLite file, or a
 * shared server), to read what a store recorded and to fill tables in bulk; closed at clean-up.
 */
import knex from 'knex';
import { connectSql } from './sql-servers.mjs';

/** knex on the SQLite file `filename`, or on `server.sql`; closed at clean-up. */
export function sqlConnection(cleanup, server, filename, poolMax = 1) {
  const db = filename
    ? knex({
        client: 'better-sqlite3',
        connection: { filename },
        useNullAsDefault: true,
        log: { warn() {}, error() {}, debug() {}, deprecate() {} },
        pool: {
          afterCreate: (conn, done) => {
            // Waits for the store's own writes instead of failing with SQLITE_BUSY, and commits
            // as our store does (bulk fills are many commits).
            conn.pragma('busy_timeout = 10000');
            conn.pragma('synchronous = NORMAL');
            done(null, conn);
          },
        },
      })
    : connectSql(server.sql, poolMax);
  cleanup.add('close a SQL connection', () => db.destroy());
  return db;
}

/** The one value of `column` in the row of `table` whose `keyColumn` is `key`, or null. */
export async function valueOf(db, table, keyColumn, key, column) {
  const row = await db(table).where(keyColumn, key).first(column);
  return row ? row[column] : null;
}
