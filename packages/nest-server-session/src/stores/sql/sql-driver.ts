import { mysqlDriver } from './mysql-driver.js';
import { postgresDriver } from './postgres-driver.js';
import type { SqlText } from './prepared-sql.js';
import type { BoundSql } from './session-table.js';
import { sqliteDriver } from './sqlite-driver.js';

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

/**
 * What the session table needs of a dialect's driver, on one of knex's pooled connections:
 * running a statement through the driver's own prepared statements (knex would build
 * and send the SQL again on every call), and closing a connection that stopped answering.
 */
export interface SqlDriver {
  /**
   * The driver answers before any timer could fire (better-sqlite3 is synchronous), so a
   * deadline timer would only cost time: its wait for a lock is bounded by busy_timeout.
   */
  readonly blocking: boolean;
  /** The rows a statement reads. */
  rows<Row>(
    connection: unknown,
    sql: SqlText,
    values: unknown[],
  ): Promise<Row[]>;
  /**
   * Runs statements as one transaction, where that costs no more round trips (SQLite, in
   * process: one commit where each statement alone would make its own); absent elsewhere.
   * Resolves with the number of rows each changed.
   */
  changesTogether?(
    connection: unknown,
    statements: BoundSql[],
  ): Promise<number[]>;
  /** The number of rows a statement changed. */
  changes(
    connection: unknown,
    sql: SqlText,
    values: unknown[],
  ): Promise<number>;
  /**
   * Closes a connection whose statement got no answer, now: the pool would only end it later,
   * politely, and mysql2's polite end waits behind the stuck statement forever.
   */
  drop(connection: unknown): void;
}

const DRIVERS: Record<SqlDialect, SqlDriver> = {
  sqlite: sqliteDriver,
  postgres: postgresDriver,
  mysql: mysqlDriver,
};

export const sqlDriver = (dialect: SqlDialect): SqlDriver => DRIVERS[dialect];
