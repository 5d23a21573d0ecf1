import { Store, type SessionData } from 'express-session';
import type { Knex } from 'knex';
import {
  createSessionCodec,
  type SessionCodec,
  type StoredSession,
} from '../common/session-codec.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';
import { settle, type Callback } from '../common/store-callback.js';

interface SessionRow {
  sid: string;
  sess: StoredSession;
  expires_at: number | string;
}

export interface KnexSessionStoreExtras {
  /** Encoding of new writes; rows in either format load. @default JSON */
  codec?: SessionCodec;
  /** Schema of the table (PostgreSQL); the connection's search path when unset. */
  schema?: string;
}

/**
 * A session table on any knex database (SQLite, PostgreSQL, MySQL/MariaDB): `sid` (prefix + id),
 * `sess` (the encoded session, binary so msgpack fits) and `expires_at` (epoch ms, indexed). Expired rows never load; {@link removeExpired} deletes them.
 * Written here rather than taken from connect-session-knex 5, whose touch() neither reports
 * errors nor calls back on failure, and which keeps browser-session cookies for one day
 * whatever the configured lifetime.
 */
export class KnexSessionStore extends Store {
  private readonly codec: SessionCodec;
  private readonly schema?: string;
  /** Settles once the table exists; reset after a failure so the next call tries again. */
  private tableReady?: Promise<void>;

  constructor(
    private readonly db: Knex,
    private readonly table: string,
    private readonly prefix: string,
    private readonly lifetimeSeconds: number,
    extras: KnexSessionStoreExtras = {},
  ) {
    super();
    this.codec = extras.codec ?? createSessionCodec();
    this.schema = extras.schema;
  }

  /** Creates the table (and its schema) with the expiry index when missing, once. */
  createTable(): Promise<void> {
    this.tableReady ??= this.createTableNow().catch((err: unknown) => {
      this.tableReady = undefined;
      throw err;
    });
    return this.tableReady;
  }

  private async createTableNow(): Promise<void> {
    const mysql = this.db.client.config.client === 'mysql2';
    if (this.schema) await this.db.schema.createSchemaIfNotExists(this.schema);
    const schema = this.schemaBuilder();
    if (await schema.hasTable(this.table)) return;
    await schema.createTable(this.table, (table) => {
      const sid = table.string('sid', 255).primary();
      // MySQL compares strings case-insensitively by default; ids differ by case alone.
      if (mysql) sid.collate('utf8mb4_bin');
      if (mysql) table.specificType('sess', 'longblob').notNullable();
      else table.binary('sess').notNullable();
      table.bigInteger('expires_at').notNullable().index();
      if (mysql) table.charset('utf8mb4');
    });
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.run(cb, async () => {
      const key = this.prefix + sid;
      const row = await this.live()
        .where('sid', key)
        .first<SessionRow | undefined>('sess');
      return row ? this.codec.decode(row.sess, key) : null;
    });
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    this.run(cb, async () => {
      const ttl = sessionTtlSeconds(session, this.lifetimeSeconds);
      if (ttl <= 0)
        return void (await this.rows()
          .where('sid', this.prefix + sid)
          .delete());
      await this.rows()
        .insert({
          sid: this.prefix + sid,
          sess: toBytes(this.codec.encode(session)),
          expires_at: Date.now() + ttl * 1000,
        })
        .onConflict('sid')
        .merge(['sess', 'expires_at']);
    });
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    this.run(cb, async () => {
      const ttl = sessionTtlSeconds(session, this.lifetimeSeconds);
      await this.live()
        .where('sid', this.prefix + sid)
        .update({ expires_at: Date.now() + ttl * 1000 });
    });
  }

  destroy(sid: string, cb?: Callback): void {
    this.run(cb, async () => {
      await this.rows()
        .where('sid', this.prefix + sid)
        .delete();
    });
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    this.run(cb, async () => {
      const rows = await this.ownLive().select<SessionRow[]>('sid', 'sess');
      const sessions: { [sid: string]: SessionData } = {};
      for (const row of rows) {
        const session = this.codec.decode(row.sess, row.sid);
        if (session) sessions[row.sid.slice(this.prefix.length)] = session;
      }
      return sessions;
    });
  }

  length(cb: Callback<number>): void {
    this.run(cb, async () => {
      const row = await this.ownLive()
        .count<{ n: number | string }[]>({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    });
  }

  clear(cb?: Callback): void {
    this.run(cb, async () => {
      await this.own(this.rows()).delete();
    });
  }

  /** Deletes expired sessions of every prefix; returns how many went. */
  async removeExpired(now = Date.now()): Promise<number> {
    await this.createTable();
    return this.rows().where('expires_at', '<=', now).delete();
  }

  private schemaBuilder(): Knex.SchemaBuilder {
    return this.schema
      ? this.db.schema.withSchema(this.schema)
      : this.db.schema;
  }

  private rows(): Knex.QueryBuilder {
    return this.schema
      ? this.db.withSchema(this.schema).from(this.table)
      : this.db(this.table);
  }

  private live(): Knex.QueryBuilder {
    return this.rows().where('expires_at', '>', Date.now());
  }

  private ownLive(): Knex.QueryBuilder {
    return this.own(this.live());
  }

  /**
   * Rows under this store's prefix: substr rather than LIKE, which would treat `_` and `%` as
   * wildcards. SQL counts characters, so the length is in code points, not UTF-16 units.
   */
  private own(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query.whereRaw('substr(sid, 1, ?) = ?', [
      [...this.prefix].length,
      this.prefix,
    ]);
  }

  private run<T>(cb: Callback<T> | undefined, work: () => Promise<T>): void {
    settle(this.createTable().then(work), cb);
  }
}

/** PostgreSQL would parse a string bound to bytea as escape syntax; bytes go in as they are. */
function toBytes(encoded: string | Buffer): Buffer {
  return typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
}
