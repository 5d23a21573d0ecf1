import type { SqlText } from './prepared-sql.js';
import type { SqlDriver } from './sql-driver.js';
import type { BoundSql } from './session-table.js';

/** better-sqlite3's Database and Statement, as much of them as is used here. */
interface Database {
  prepare(source: string): Statement;
  transaction<A extends unknown[], R>(
    run: (...args: A) => R,
  ): (...args: A) => R;
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

type Together = (statements: BoundSql[]) => number[];

/** Each connection's transaction function (better-sqlite3 makes one per function it wraps). */
const transactions = new WeakMap<Database, Together>();

function transactionOf(connection: unknown): Together {
  const db = connection as Database;
  let together = transactions.get(db);
  if (!together)
    transactions.set(
      db,
      (together = db.transaction((statements: BoundSql[]) =>
        statements.map(
          ({ sql, values }) => statementOf(db, sql).run(values).changes,
        ),
      )),
    );
  return together;
}

/** better-sqlite3: synchronous, so each statement runs whole where it is called. */
export const sqliteDriver: SqlDriver = {
  blocking: true,
  rows: async <Row>(connection: unknown, sql: SqlText, values: unknown[]) =>
    statementOf(connection, sql).all(values) as Row[],
  changes: async (connection, sql, values) =>
    statementOf(connection, sql).run(values).changes,
  changesTogether: async (connection, statements) =>
    transactionOf(connection)(statements),
  drop: () => undefined,
};
