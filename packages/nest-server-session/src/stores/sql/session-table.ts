import type { Knex } from 'knex';
import { toSqlStoreError } from './sql-errors.js';

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

/** What the rows of the session table hold, as the drivers hand them back. */
export interface SessionRow {
  sid: string;
  sess: string | Uint8Array;
  /** BIGINT: pg returns it as a string. */
  version: number | string;
}

/**
 * The session table on one database: where its rows are, and the one way statements run on
 * it. Every statement has a deadline (`.timeout()`), past which knex marks its connection as
 * disposed, so that the pool destroys it instead of handing it out again: a connection that
 * stopped answering (a dead NAT entry, a failed-over proxy) costs the request that hit it, not
 * every later request routed to it. (pg's own `query_timeout` would put it back in the pool.)
 * Errors come out as {@link SqlStoreError}s, which name no session.
 */
export class SessionTable {
  readonly dialect: SqlDialect;

  constructor(
    readonly db: Knex,
    readonly name: string,
    readonly schema: string | undefined,
    /** Deadline of one statement, in milliseconds: the store timeout. */
    readonly timeoutMs: number,
  ) {
    const client = String(db.client.config.client);
    this.dialect =
      client === 'pg' ? 'postgres' : client === 'mysql2' ? 'mysql' : 'sqlite';
  }

  rows(): Knex.QueryBuilder {
    return this.schema
      ? this.db.withSchema(this.schema).from(this.name)
      : this.db(this.name);
  }

  schemaBuilder(): Knex.SchemaBuilder {
    return this.schema
      ? this.db.schema.withSchema(this.schema)
      : this.db.schema;
  }

  /** Runs one statement within `timeoutMs`. */
  async run<T>(
    statement: Knex.QueryBuilder | Knex.Raw,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    try {
      return (await statement.timeout(timeoutMs)) as T;
    } catch (err) {
      throw toSqlStoreError(err);
    }
  }

  /**
   * Runs the statements of a schema change one by one, each within the deadline (knex's schema
   * builder has no timeout of its own).
   */
  async runSchema(builder: Knex.SchemaBuilder): Promise<void> {
    for (const { sql, bindings } of builder.toSQL() as unknown as {
      sql: string;
      bindings: readonly Knex.RawBinding[];
    }[])
      await this.run(this.db.raw(sql, bindings));
  }

  /** SQL's length in characters, as `substr` counts: MySQL's `length` counts bytes. */
  get charLength(): string {
    return this.dialect === 'sqlite' ? 'length' : 'char_length';
  }
}
