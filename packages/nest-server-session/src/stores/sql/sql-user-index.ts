import { sessionIdOfKey } from '../../session-id.js';
import type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import { prepareSql } from './prepared-sql.js';
import { type BoundSql, bound, type SessionTable } from './session-table.js';
import { IN_LIST_MAX, whereOwnKey } from './sql-listing.js';
import { userKey } from './user-key.js';

/** The key of an index entry: the user's key (see {@link userKey}) and the session's row key. */
export interface Entry {
  user: string;
  key: string;
}

/** What a login writes to the index: its entry, the device (JSON) and how long it is kept. */
export interface NewEntry extends Entry {
  device: string;
  keptUntil: number;
}

/** The upsert of an index entry (a login again on the same session rewrites it). */
export const insertEntry = (table: SessionTable, p: NewEntry) =>
  table
    .userRows()
    .insert({
      user_id: p.user,
      sid: p.key,
      device: p.device,
      expires_at: p.keptUntil,
    })
    .onConflict(['user_id', 'sid'])
    .merge(['device', 'expires_at']);

/** The delete of one index entry. */
export const deleteEntry = (table: SessionTable, p: Entry) =>
  table.userRows().where({ user_id: p.user, sid: p.key }).delete();

/** An entry of a user's index, with its session's expiry when there is a session row. */
interface EntryRow {
  sid: string;
  device: string;
  /** The entry's own `expires_at`; BIGINT, a string from pg. */
  kept_until: number | string;
  /** The session's, null when its row is gone. */
  expires_at: number | string | null;
}

/**
 * The per-user index in its own table beside the sessions (`<table>_users`, made by
 * prepareSessionTable): a row per session of a user, keyed by (`user_id`, `sid`). Listing is
 * one statement over that user's rows, joined by primary key to the session rows for their
 * expiry, so its cost is the user's sessions whatever the size of the tables.
 *
 * An entry is written before its session (the session row may not exist yet), so it has an
 * expiry of its own, `expires_at`, set by `add` to the session's lifetime: until then it is
 * kept even without a session. After it, an entry without a live session is dead: dropped when
 * its user's list is read, or by the sweep, which also moves the expiry of entries whose
 * session lives on to the session's, so that each sweep reads only the entries due since the
 * last.
 */
export class SqlUserIndex implements UserSessionIndex {
  /** The writes of every login and logout, compiled once (see {@link prepareSql}). */
  private readonly sql;

  constructor(
    private readonly table: SessionTable,
    private readonly prefix: string,
    private readonly ready: () => Promise<void>,
  ) {
    this.sql = {
      add: prepareSql((p: NewEntry) => insertEntry(table, p)),
      removeOne: prepareSql((p: Entry) => deleteEntry(table, p)),
    };
  }

  async add(
    userId: string,
    sid: string,
    device: SessionDevice,
    ttlSeconds: number,
  ): Promise<void> {
    await this.ready();
    await this.table.write(
      this.sql.add,
      this.entry(userId, sid, device, ttlSeconds),
    );
  }

  /** What removing `sid` from `userId`'s index runs, bound (see {@link adding}). */
  removing(userId: string, sid: string): BoundSql {
    return bound(this.sql.removeOne, this.entryKey(userId, sid));
  }

  /** The key of `userId`'s entry for `sid`. */
  entryKey(userId: string, sid: string): Entry {
    return { user: userKey(userId), key: this.prefix + sid };
  }

  /** What {@link add} writes, bound: to run in one transaction with the session's write. */
  adding(entry: NewEntry): BoundSql {
    return bound(this.sql.add, entry);
  }

  /** The parameters of {@link insertEntry} for a login. */
  entry(
    userId: string,
    sid: string,
    device: SessionDevice,
    ttlSeconds: number,
  ): NewEntry {
    return {
      ...this.entryKey(userId, sid),
      device: JSON.stringify(device),
      keptUntil: Date.now() + ttlSeconds * 1000,
    };
  }

  async remove(userId: string, sids: string[]): Promise<void> {
    await this.ready();
    // One session, at each logout: the statement every call shares.
    if (sids.length === 1) {
      await this.table.write(
        this.sql.removeOne,
        this.entryKey(userId, sids[0]),
      );
      return;
    }
    for (let i = 0; i < sids.length; i += IN_LIST_MAX)
      await this.table.run(
        this.table
          .userRows()
          .where('user_id', userKey(userId))
          .whereIn(
            'sid',
            sids.slice(i, i + IN_LIST_MAX).map((sid) => this.prefix + sid),
          )
          .delete(),
      );
  }

  async list(userId: string): Promise<IndexedSession[]> {
    await this.ready();
    const user = userKey(userId);
    const now = Date.now();
    const rows = await this.table.run<EntryRow[]>(
      whereOwnKey(
        this.table.db
          .from({ u: this.table.qualified(this.table.usersName) })
          .leftJoin(
            { s: this.table.qualified(this.table.name) },
            's.sid',
            'u.sid',
          )
          .where('u.user_id', user),
        this.table,
        this.prefix,
        'u.sid',
      ).select(
        'u.sid',
        'u.device',
        'u.expires_at as kept_until',
        's.expires_at',
      ),
    );
    const live: IndexedSession[] = [];
    const dead: string[] = [];
    for (const row of rows) {
      const sid = sessionIdOfKey(row.sid, this.prefix);
      if (sid === undefined) continue;
      const expiresAt = row.expires_at === null ? 0 : Number(row.expires_at);
      if (expiresAt > now)
        live.push({ sid, device: deviceOf(row.device), expiresAt });
      else if (Number(row.kept_until) <= now) dead.push(row.sid);
    }
    if (dead.length > 0) await this.prune(user, dead, now);
    return live;
  }

  /**
   * Deletes dead entries of `user` seen by a listing. The listing stands without it, and the
   * sweep deletes what is left, so a failure here only delays that.
   */
  private async prune(user: string, keys: string[], now: number) {
    for (let i = 0; i < keys.length; i += IN_LIST_MAX)
      await this.table
        .run(
          this.table
            .userRows()
            .where('user_id', user)
            .whereIn('sid', keys.slice(i, i + IN_LIST_MAX))
            .where('expires_at', '<=', now)
            .delete(),
        )
        .catch(() => undefined);
  }
}

/** The device as recorded; what is not readable of it is left out (a row edited by hand). */
function deviceOf(json: string): SessionDevice {
  let stored: Partial<Record<keyof SessionDevice, unknown>> = {};
  try {
    stored = (JSON.parse(json) as typeof stored | null) ?? {};
  } catch {
    // Left empty: the session is still listed, so that it can still be ended.
  }
  return {
    createdAt: typeof stored.createdAt === 'number' ? stored.createdAt : 0,
    ...(typeof stored.userAgent === 'string'
      ? { userAgent: stored.userAgent }
      : {}),
    ...(typeof stored.ip === 'string' ? { ip: stored.ip } : {}),
  };
}
