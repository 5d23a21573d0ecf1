import type { Knex } from 'knex';
import { prepareSql } from './prepared-sql.js';
import type { SessionTable } from './session-table.js';
import {
  deleteEntry,
  type Entry,
  insertEntry,
  type NewEntry,
} from './sql-user-index.js';
import { SWEEP_AFTER } from './sweep-after.js';

/** A row's key (prefix + session id) and the time that tells live rows from expired ones. */
export interface Live {
  key: string;
  now: number;
}

/** A new expiry (epoch ms), and its `sweep_after` (see sweep-after.ts). */
export interface Expiry {
  expiresAt: number;
  sweepAfter: number;
}

/** What a write stores: the encoded session, its expiry and its version. */
interface Written extends Expiry {
  sess: Buffer;
  version: number;
}

/**
 * The statements of every call on the session table, compiled once for its dialect. Each
 * reads or changes only live rows (`expires_at` > `now`): an expired row is no session any
 * more, whatever the sweep has not deleted yet.
 */
export function sessionStatements(table: SessionTable) {
  const live = (p: Live) =>
    table.rows().where('expires_at', '>', p.now).where('sid', p.key);
  /** Writes the session whether or not a row (live or expired) has its key. */
  const create = (p: Written & { key: string }) =>
    table
      .rows()
      .insert({
        sid: p.key,
        sess: p.sess,
        expires_at: p.expiresAt,
        version: p.version,
        [SWEEP_AFTER]: p.sweepAfter,
      })
      .onConflict('sid')
      .merge(['sess', 'expires_at', 'version', SWEEP_AFTER]);
  const destroy = (p: Live) => live(p).delete();
  /** Compiled on PostgreSQL only: the statements that write the index in a `WITH`. */
  const onPostgres = <P extends object>(build: (p: P) => Knex.QueryBuilder) =>
    table.dialect === 'postgres' ? prepareSql(build) : undefined;
  return {
    /** The session's data and version (sid is the primary key: one row at most). */
    load: prepareSql((p: Live) => live(p).select('sess', 'version')),
    create: prepareSql(create),
    /**
     * A login on PostgreSQL: the user's index entry (a data-modifying WITH) and the session,
     * in one statement, so one round trip and both or neither. (SQLite and MySQL take no
     * INSERT in a WITH.)
     */
    createWithEntry: onPostgres((p: Written & NewEntry) =>
      create(p).with('entry', insertEntry(table, p)),
    ),
    /** Compare-and-set: lands only on the version that was read. */
    replace: prepareSql((p: Live & Written & { read: number }) =>
      live(p)
        .where('version', p.read)
        .update({
          sess: p.sess,
          expires_at: p.expiresAt,
          version: p.version,
          [SWEEP_AFTER]: p.sweepAfter,
        }),
    ),
    /** An expiry refresh; the index of `sweep_after` changes only if its value does. */
    touch: prepareSql((p: Live & Expiry) =>
      live(p).update({ expires_at: p.expiresAt, [SWEEP_AFTER]: p.sweepAfter }),
    ),
    /**
     * The same for a row whose bucket stays: for SQLite, which rewrites the index entry of
     * every indexed column an UPDATE sets, changed or not. No row: the bucket moved, or the
     * session is gone.
     */
    touchInBucket: prepareSql((p: Live & Expiry) =>
      live(p)
        .where(SWEEP_AFTER, p.sweepAfter)
        .update({ expires_at: p.expiresAt }),
    ),
    destroy: prepareSql(destroy),
    /** A logout on PostgreSQL: the session and its user's index entry, in one statement. */
    destroyWithEntry: onPostgres((p: Live & Entry) =>
      destroy(p).with('entry', deleteEntry(table, p)),
    ),
  };
}
