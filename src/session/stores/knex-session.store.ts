import { Store, type SessionData } from 'express-session';
import type { Knex } from 'knex';
import { sessionTtlSeconds } from './session-ttl.js';

type Callback<T = unknown> = (err?: unknown, value?: T) => void;

interface SessionRow {
  sid: string;
  sess: string;
  expires_at: number | string;
}

/**
 * A session table on any knex database: `sid` (prefix + id), `sess` (JSON) and `expires_at`
 * (epoch milliseconds, indexed). Expired rows never load; {@link removeExpired} deletes them.
 * Written here rather than taken from connect-session-knex 5, whose touch() neither reports
 * errors nor calls back on failure, and which keeps browser-session cookies for one day
 * whatever the configured lifetime.
 */
export class KnexSessionStore extends Store {
  constructor(
    private readonly db: Knex,
    private readonly table: string,
    private readonly prefix: string,
    private readonly lifetimeSeconds: number,
  ) {
    super();
  }

  /** Creates the table and its expiry index when missing. */
  async createTable(): Promise<void> {
    if (await this.db.schema.hasTable(this.table)) return;
    await this.db.schema.createTable(this.table, (table) => {
      table.string('sid', 255).primary();
      table.text('sess').notNullable();
      table.bigInteger('expires_at').notNullable().index();
    });
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.run(cb, async () => {
      const row = await this.live()
        .where('sid', this.prefix + sid)
        .first<SessionRow | undefined>('sess');
      return row ? (JSON.parse(row.sess) as SessionData) : null;
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
          sess: JSON.stringify(session),
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
      return Object.fromEntries(
        rows.map((row) => [
          row.sid.slice(this.prefix.length),
          JSON.parse(row.sess) as SessionData,
        ]),
      );
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
    return this.rows().where('expires_at', '<=', now).delete();
  }

  private rows(): Knex.QueryBuilder {
    return this.db(this.table);
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
    work().then(
      (value) => cb?.(null, value),
      (err: unknown) => cb?.(err),
    );
  }
}
