import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { SESSION_ID_LENGTH, sessionIdOfKey } from '../../session-id.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { SessionListing } from '../store.contract.js';
import type { SessionRow, SessionTable } from './session-table.js';

/** Ids per page when the caller names no size. */
const DEFAULT_PAGE = 1000;
/** Most ids bound in one `IN (…)`: far below every database's limit on parameters. */
export const IN_LIST_MAX = 500;

/**
 * The sessions of one prefix in a shared table. A row is the prefix's when its key is exactly
 * the prefix plus a session id: `substr` rather than LIKE (`_` and `%` are no wildcards here),
 * the key's length in characters, then {@link sessionIdOfKey} on what comes back. `count`
 * relies on the first two alone; every other call applies all three.
 */
export class SqlSessionListing implements SessionListing {
  constructor(
    private readonly table: SessionTable,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
    private readonly ready: () => Promise<void>,
  ) {}

  async *ids(pageSize = DEFAULT_PAGE): AsyncIterable<string[]> {
    for await (const keys of this.keyPages(pageSize, true))
      yield keys.map((key) => key.slice(this.prefix.length));
  }

  async loadMany(sids: string[]): Promise<Map<string, SessionData>> {
    await this.ready();
    const found = new Map<string, SessionData>();
    for (let i = 0; i < sids.length; i += IN_LIST_MAX) {
      const keys = sids.slice(i, i + IN_LIST_MAX).map((s) => this.prefix + s);
      const rows = await this.table.run<SessionRow[]>(
        this.live(this.table.rows()).whereIn('sid', keys).select('sid', 'sess'),
      );
      for (const row of rows) {
        const sid = sessionIdOfKey(row.sid, this.prefix);
        const session = sid && this.codec.decode(row.sess);
        if (sid && session) found.set(sid, session);
      }
    }
    return found;
  }

  async count(): Promise<number> {
    await this.ready();
    const row = await this.table.run<{ n: number | string } | undefined>(
      this.live(this.own(this.table.rows()))
        .count<{ n: number | string }[]>({ n: '*' })
        .first(),
    );
    return Number(row?.n ?? 0);
  }

  /** Expired rows of the prefix go too: they are no one's any more. */
  async clear(): Promise<number> {
    let removed = 0;
    for await (const keys of this.keyPages(DEFAULT_PAGE, false))
      for (let i = 0; i < keys.length; i += IN_LIST_MAX)
        removed += await this.table.run<number>(
          this.table
            .rows()
            .whereIn('sid', keys.slice(i, i + IN_LIST_MAX))
            .delete(),
        );
    return removed;
  }

  /**
   * The prefix's keys a page at a time, by keyset (`sid > last`), so that no page costs more
   * than its size however large the table, and rows deleted meanwhile do not shift the pages.
   */
  private async *keyPages(
    pageSize: number,
    liveOnly: boolean,
  ): AsyncIterable<string[]> {
    await this.ready();
    let after: string | undefined;
    for (;;) {
      let query = this.own(this.table.rows());
      if (liveOnly) query = this.live(query);
      if (after !== undefined) query = query.where('sid', '>', after);
      const rows = await this.table.run<{ sid: string }[]>(
        query.select('sid').orderBy('sid').limit(pageSize),
      );
      const keys = rows
        .map((row) => row.sid)
        .filter((key) => sessionIdOfKey(key, this.prefix) !== undefined);
      if (keys.length > 0) yield keys;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].sid;
    }
  }

  private own(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return whereOwnKey(query, this.table, this.prefix);
  }

  private live(query: Knex.QueryBuilder): Knex.QueryBuilder {
    return query.where('expires_at', '>', Date.now());
  }
}

/**
 * Rows whose key (in `column`) is exactly `prefix` plus a session id, as far as SQL can tell:
 * the prefix by `substr` (`_` and `%` are no wildcards here), then the key's length.
 */
export function whereOwnKey(
  query: Knex.QueryBuilder,
  table: SessionTable,
  prefix: string,
  column = 'sid',
): Knex.QueryBuilder {
  // SQL counts characters (code points), JavaScript's length UTF-16 units.
  const length = [...prefix].length;
  return query.whereRaw(
    `substr(??, 1, ?) = ? and ${table.charLength}(??) = ?`,
    [column, length, prefix, column, length + SESSION_ID_LENGTH],
  );
}
