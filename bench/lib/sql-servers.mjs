/**
 * The shared PostgreSQL and MySQL/MariaDB servers the benchmarks use (the tests' defaults, or
 * TEST_POSTGRES_URL / TEST_MYSQL_URL), and tables of a run's own on them, dropped at clean-up:
 * nothing else on a server is touched.
 */
import { randomBytes } from 'node:crypto';
import knex from 'knex';

export const SQL_SERVERS = {
  postgres: {
    label: 'PostgreSQL',
    client: 'pg',
    url:
      process.env.TEST_POSTGRES_URL ??
      'postgres://postgres@127.0.0.1:5432/test',
    variable: 'TEST_POSTGRES_URL',
  },
  mysql: {
    label: 'MySQL/MariaDB',
    client: 'mysql2',
    url: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
    variable: 'TEST_MYSQL_URL',
  },
};

/** A URL fit for a log line: its password hidden. */
export function shown(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** A knex instance on `server` (one of {@link SQL_SERVERS}) that logs nothing itself. */
export function connectSql(server, poolMax = 1) {
  return knex({
    client: server.client,
    connection: server.url,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 5000,
    // Failures are reported by the caller, naming the server.
    log: { warn() {}, error() {}, debug() {}, deprecate() {} },
  });
}

/** Fails, naming the server and the variable to set, when `server` does not answer. */
export async function checkSqlServer(server) {
  const db = connectSql(server);
  try {
    await db.raw('select 1');
  } catch (err) {
    throw new Error(
      `${server.label} at ${shown(server.url)} does not answer (${err.message}); start it, or set ${server.variable} to one that does`,
    );
  } finally {
    await db.destroy();
  }
}

/** A table name of this run's own: `<stem>_<8 hex>`. */
export const uniqueTable = (stem) =>
  `${stem}_${randomBytes(4).toString('hex')}`;

/** Drops `table` on `server` at clean-up (whoever created it). */
export function dropAtCleanup(cleanup, server, table) {
  return cleanup.add(`drop table ${table} on ${server.label}`, async () => {
    const db = connectSql(server);
    try {
      await db.schema.dropTableIfExists(table);
      // Our store keeps each user's sessions in a table beside its own.
      await db.schema.dropTableIfExists(`${table}_users`);
    } finally {
      await db.destroy();
    }
  });
}
