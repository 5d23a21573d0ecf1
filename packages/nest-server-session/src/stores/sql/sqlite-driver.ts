import type { SqlText } from './prepared-sql.js';
import type { SqlDriver } from './sql-driver.js';

/** better-sqlite3's Database and Statement, as much of them as is used here. */
interface Database {
  prepare(source: string): Statement;
}
interface Statement {
  all(values: unknown[]): unknown[];
  run(values: unknown[]): { changes: number };
}

/**
 * Statements prepared once per connection: preparing is most of what a call costs (parsing and
 * planning the SQL). Keyed by the connection, so a connection the pool replaces takes its
 * statements with it.
 */
const prepared = new WeakMap<Database, Map<string, Statement>>();

function statementOf(connection: unknown, sql: SqlText): Statement {
  const db = connection as Database;
  let statements = prepared.get(db);
  if (!statements) prepared.set(db, (statements = new Map()));
  let statement = statements.get(sql.text);
  if (!statement) statements.set(sql.text, (statement = db.prepare(sql.text)));
  return statement;
}

/** better-sqlite3: synchronous, so each statement runs whole where it is called. */
export const sqliteDriver: SqlDriver = {
  blocking: true,
  rows: async <Row>(connection: unknown, sql: SqlText, values: unknown[]) =>
    statementOf(connection, sql).all(values) as Row[],
  changes: async (connection, sql, values) =>
    statementOf(connection, sql).run(values).changes,
  drop: () => undefined,
};
