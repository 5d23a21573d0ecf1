import type { SqlText } from './prepared-sql.js';
import type { SqlDriver } from './sql-driver.js';

/** mysql2's (callback) Connection, as much of it as is used here. */
interface MysqlConnection {
  execute(
    sql: string,
    values: unknown[],
    done: (err: Error | null, result: unknown) => void,
  ): void;
  destroy(): void;
  stream?: { destroy(): void };
}

/**
 * A server-side prepared statement, which mysql2 prepares once per connection and keeps: the
 * values go in the binary protocol, a session's bytes as they are (not as a hex literal twice
 * their size).
 */
const execute = (connection: unknown, sql: SqlText, values: unknown[]) =>
  new Promise<unknown>((resolve, reject) =>
    (connection as MysqlConnection).execute(sql.text, values, (err, result) =>
      err ? reject(err) : resolve(result),
    ),
  );

/** mysql2, with its prepared statements. */
export const mysqlDriver: SqlDriver = {
  blocking: false,
  rows: async <Row>(connection: unknown, sql: SqlText, values: unknown[]) =>
    (await execute(connection, sql, values)) as Row[],
  changes: async (connection, sql, values) =>
    ((await execute(connection, sql, values)) as { affectedRows: number })
      .affectedRows,
  drop: (connection) => {
    (connection as MysqlConnection).destroy();
    (connection as MysqlConnection).stream?.destroy();
  },
};
