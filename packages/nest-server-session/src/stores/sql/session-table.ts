import type { Knex } from 'knex';
import { DEFAULT_LIFETIME_SECONDS } from '../../options/common.options.js';
import type { PreparedSql, SqlText } from './prepared-sql.js';
import { type SqlDialect, type SqlDriver, sqlDriver } from './sql-driver.js';
import { statementTimeout, toSqlStoreError } from './sql-errors.js';
import { derivedName } from './sql-limits.js';
import { sweepBucketMs as bucketFor } from './sweep-after.js';

/** knex's pool, as much of it as is used here. */
interface Pool {
  acquireConnection(): Promise<PooledConnection>;
  releaseConnection(connection: PooledConnection): Promise<unknown>;
}

/** A driver's connection; knex's pool destroys rather than reuses one marked disposed. */
interface PooledConnection {
  __knex__disposed?: unknown;
}

/** A prepared statement with its values, to run later (with others, in one transaction). */
export interface BoundSql {
  sql: SqlText;
  values: unknown[];
}

/** `sql` with the values of `params`. */
export const bound = <P>(sql: PreparedSql<P>, params: P): BoundSql => ({
  sql,
  values: sql.values(params),
});

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
 * Statements run as knex builds them ({@link run}), or, on the hot paths, prepared once and
 * run through the driver itself ({@link read}, {@link write}).
 */
export class SessionTable {
  readonly dialect: SqlDialect;
  /** The per-user index beside it: `<name>_users`. */
  readonly usersName: string;
  private readonly driver: SqlDriver;

  constructor(
    readonly db: Knex,
    readonly name: string,
    readonly schema: string | undefined,
    /** Deadline of one statement, in milliseconds: the store timeout. */
    readonly timeoutMs: number,
    /** How far `sweep_after` rounds a row's expiry up (sweep-after.ts). */
    readonly sweepBucketMs: number = bucketFor(DEFAULT_LIFETIME_SECONDS),
  ) {
    const client = String(db.client.config.client);
    this.dialect =
      client === 'pg' ? 'postgres' : client === 'mysql2' ? 'mysql' : 'sqlite';
    this.usersName = derivedName(name, '_users');
    this.driver = sqlDriver(this.dialect);
  }

  /** Whether a statement holds the event loop while it runs (SQLite's synchronous driver). */
  get blocking(): boolean {
    return this.driver.blocking;
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
  run<T>(
    statement: Knex.QueryBuilder | Knex.Raw,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    return this.onConnection(
      async (connection) => (await statement.connection(connection)) as T,
      timeoutMs,
    );
  }

  /** The rows a prepared statement reads, within the deadline. */
  read<Row, P>(sql: PreparedSql<P>, params: P): Promise<Row[]> {
    return this.onConnection((connection) =>
      this.driver.rows<Row>(connection, sql, sql.values(params)),
    );
  }

  /** The number of rows a prepared statement changed, within the deadline. */
  write<P>(sql: PreparedSql<P>, params: P): Promise<number> {
    return this.onConnection((connection) =>
      this.driver.changes(connection, sql, sql.values(params)),
    );
  }

  /** Whether {@link writeTogether} is there: one transaction for free (SQLite). */
  get writesTogether(): boolean {
    return this.driver.changesTogether !== undefined;
  }

  /** Runs `writes` as one transaction, within the deadline; only where {@link writesTogether}. */
  writeTogether(writes: BoundSql[]): Promise<number[]> {
    const together = this.driver.changesTogether!;
    return this.onConnection((connection) => together(connection, writes));
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
   * Runs `work` on a pooled connection within `timeoutMs`. A connection that missed the
   * deadline is dropped and marked disposed (as knex's own timeout would), so the pool never
   * hands it out again.
   */
  private async onConnection<T>(
    work: (connection: PooledConnection) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const pool = this.db.client as Pool;
    let connection: PooledConnection;
    try {
      connection = await pool.acquireConnection();
    } catch (err) {
      throw toSqlStoreError(err);
    }
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      if (this.driver.blocking) return await work(connection);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(statementTimeout(timeoutMs));
        }, timeoutMs);
      });
      return await Promise.race([work(connection), deadline]);
    } catch (err) {
      if (timedOut) {
        connection.__knex__disposed = err;
        this.driver.drop(connection);
      }
      throw toSqlStoreError(err);
    } finally {
      clearTimeout(timer);
      await pool.releaseConnection(connection);
    }
  }

  /** SQL's length in characters, as `substr` counts: MySQL's `length` counts bytes. */
  get charLength(): string {
    return this.dialect === 'sqlite' ? 'length' : 'char_length';
  }
}
