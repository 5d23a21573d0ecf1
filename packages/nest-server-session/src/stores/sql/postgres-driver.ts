import type { SqlText } from './prepared-sql.js';
import type { SqlDriver } from './sql-driver.js';

/** pg's Client, as much of it as is used here. */
interface PgClient {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  end(): Promise<void>;
}

/** A named statement: pg parses it once per connection, then sends only its values. */
const query = (connection: unknown, sql: SqlText, values: unknown[]) =>
  (connection as PgClient).query({ name: sql.name, text: sql.text, values });

/** pg, with named prepared statements. */
export const postgresDriver: SqlDriver = {
  blocking: false,
  rows: async <Row>(connection: unknown, sql: SqlText, values: unknown[]) =>
    (await query(connection, sql, values)).rows as Row[],
  changes: async (connection, sql, values) =>
    (await query(connection, sql, values)).rowCount ?? 0,
  // With a query in flight, pg's end() destroys the socket instead of saying goodbye.
  drop: (connection) =>
    void (connection as PgClient).end().catch(() => undefined),
};
