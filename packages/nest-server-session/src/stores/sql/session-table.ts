import type { Knex } from 'knex';
import { toSqlStoreError } from './sql-errors.js';
import { derivedName } from './sql-limits.js';

/** A driver's connection (pg's Client, mysql2's Connection), as much of it as is used here. */
interface RawConnection {
  end?(): Promise<void>;
  destroy?(): void;
  stream?: { destroy(): void };
}

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
 * it. Every statement has a deadline; a connection whose statement missed it is closed on the
 * spot and never pooled again, so that a connection that stopped answering (a dead NAT entry, a
 * failed-over proxy) costs the request that met it, not every later request routed to it.
 * (pg's own `query_timeout` would put it back in the pool, behind its stuck query; mysql2 has no
 * deadline at all.) Errors come out as {@link SqlStoreError}s, which name no session.
 */
export class SessionTable {
  readonly dialect: SqlDialect;
  /** The per-user index beside it: `<name>_users`. */
  readonly usersName: string;

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
    this.usersName = derivedName(name, '_users');
  }

  rows(): Knex.QueryBuilder {
    return this.from(this.name);
  }

  /** The rows of the per-user index table. */
  userRows(): Knex.QueryBuilder {
    return this.from(this.usersName);
  }

  /** `name` in the table's schema, as knex takes it where `withSchema` does not reach (joins). */
  qualified(name: string): string {
    return this.schema ? `${this.schema}.${name}` : name;
  }

  schemaBuilder(): Knex.SchemaBuilder {
    return this.schema
      ? this.db.schema.withSchema(this.schema)
      : this.db.schema;
  }

  /** Runs one statement within `timeoutMs`, on a pooled connection. */
  async run<T>(
    statement: Knex.QueryBuilder | Knex.Raw,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const pool = this.db.client as {
      acquireConnection(): Promise<RawConnection>;
      releaseConnection(connection: RawConnection): Promise<unknown>;
    };
    let connection: RawConnection;
    try {
      connection = await pool.acquireConnection();
    } catch (err) {
      throw toSqlStoreError(err);
    }
    try {
      // knex's deadline also marks the connection as disposed: the pool never hands it out again.
      return (await statement.connection(connection).timeout(timeoutMs)) as T;
    } catch (err) {
      if ((err as Error).name === 'KnexTimeoutError') this.drop(connection);
      throw toSqlStoreError(err);
    } finally {
      await pool.releaseConnection(connection);
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

  /** With `withSchema`, so that `columnInfo` looks in the schema. */
  private from(name: string): Knex.QueryBuilder {
    return this.schema
      ? this.db.withSchema(this.schema).from(name)
      : this.db(name);
  }

  /**
   * Closes a connection whose statement got no answer, now: the pool would only end it later,
   * politely, and mysql2's polite end waits behind the stuck statement forever.
   */
  private drop(connection: RawConnection): void {
    if (this.dialect === 'postgres')
      // With a query in flight, pg's end() destroys the socket instead of saying goodbye.
      void connection.end?.().catch(() => undefined);
    if (this.dialect === 'mysql') {
      connection.destroy?.();
      connection.stream?.destroy();
    }
  }

  /** SQL's length in characters, as `substr` counts: MySQL's `length` counts bytes. */
  get charLength(): string {
    return this.dialect === 'sqlite' ? 'length' : 'char_length';
  }
}
