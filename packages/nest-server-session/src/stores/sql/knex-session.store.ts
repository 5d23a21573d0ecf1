import { randomInt } from 'node:crypto';
import type { SessionData } from 'express-session';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  CreateOwned,
  DestroyOwned,
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionListing,
  SessionOwner,
  SessionVersion,
  SweepOptions,
} from '../store.contract.js';
import {
  type Expiry,
  type Live,
  sessionStatements,
} from './session-statements.js';
import { bound, type SessionRow, type SessionTable } from './session-table.js';
import { SqlSessionListing } from './sql-listing.js';
import { removeExpiredRows } from './sql-sweep.js';
import { SqlUserIndex } from './sql-user-index.js';
import { sweepAfter } from './sweep-after.js';
import { prepareSessionTable } from './table-setup.js';

/**
 * Versions are random (48 bits, never 0, the version of rows from before the column existed)
 * rather than counted: a write knows its version without reading it back (MySQL has no
 * RETURNING), and a session destroyed and made again never repeats a version a stale request
 * still holds.
 */
const newVersion = () => randomInt(1, 2 ** 48);

/**
 * Sessions in one table on any knex database (SQLite, PostgreSQL, MySQL/MariaDB): `sid`
 * (prefix + id), `sess` (the encoded session, binary so msgpack fits), `expires_at` (epoch ms),
 * `version` and `sweep_after` (the expiry rounded up, indexed for the sweep: see sweep-after.ts).
 * Expired rows never load, and are deleted by {@link removeExpired}.
 * One statement per call: `replace` is an UPDATE conditional on the version read (plus a SELECT
 * when it matched nothing, to tell a conflict from a session gone), so concurrent writers
 * never overwrite each other and nothing re-creates a destroyed session. Each user's sessions
 * are indexed in a table beside it (see {@link SqlUserIndex}).
 */
export class KnexSessionBackend implements SessionBackend {
  readonly type = 'sql';
  readonly listing: SessionListing;
  readonly users: SqlUserIndex;
  /** On PostgreSQL (one statement) and SQLite (one transaction): a login in one write. */
  readonly createOwned?: CreateOwned;
  /** The same for a logout. */
  readonly destroyOwned?: DestroyOwned;
  /** Settles once the table is ready; reset after a failure so the next call tries again. */
  private tableReady?: Promise<void>;
  private readonly sql: ReturnType<typeof sessionStatements>;

  constructor(
    private readonly table: SessionTable,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
  ) {
    this.listing = new SqlSessionListing(table, prefix, codec, () =>
      this.ready(),
    );
    this.users = new SqlUserIndex(table, prefix, () => this.ready());
    this.sql = sessionStatements(table);
    // MySQL has neither: there, the two writes go side by side on two connections.
    if (this.sql.createWithEntry || table.writesTogether) {
      this.createOwned = (sid, session, ttlSeconds, owner) =>
        this.createWithEntry(sid, session, ttlSeconds, owner);
      this.destroyOwned = (sid, userId) => this.destroyWithEntry(sid, userId);
    }
  }

  /** Creates or upgrades the table, once. */
  ready(): Promise<void> {
    this.tableReady ??= prepareSessionTable(this.table).catch(
      (err: unknown) => {
        this.tableReady = undefined;
        throw err;
      },
    );
    return this.tableReady;
  }

  async load(sid: string): Promise<LoadedSession | null> {
    await this.ready();
    return this.current(this.prefix + sid);
  }

  async create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    await this.ready();
    const row = this.newRow(sid, session, ttlSeconds);
    await this.table.write(this.sql.create, row);
    return row.version;
  }

  /**
   * A login: the session's row and its user's entry written together, both or neither. On
   * PostgreSQL one statement; on SQLite one transaction (one commit where two statements
   * alone would make two).
   */
  private async createWithEntry(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
    owner: SessionOwner,
  ): Promise<SessionVersion> {
    await this.ready();
    const row = this.newRow(sid, session, ttlSeconds);
    const entry = this.users.entry(owner.userId, sid, owner.device, ttlSeconds);
    if (this.sql.createWithEntry)
      await this.table.write(this.sql.createWithEntry, { ...entry, ...row });
    else
      await this.table.writeTogether([
        this.users.adding(entry),
        bound(this.sql.create, row),
      ]);
    return row.version;
  }

  async replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    await this.ready();
    const key = this.prefix + sid;
    if (typeof version === 'number') {
      const next = newVersion();
      const replaced = await this.table.write(this.sql.replace, {
        key,
        now: Date.now(),
        read: version,
        ...this.data(session, ttlSeconds),
        version: next,
      });
      if (replaced > 0) return { status: 'replaced', version: next };
    }
    const current = await this.current(key);
    return current ? { status: 'conflict', current } : { status: 'gone' };
  }

  async touch(sid: string, ttlSeconds: number): Promise<boolean> {
    await this.ready();
    const refresh = { ...this.liveRow(sid), ...this.expiry(ttlSeconds) };
    // On SQLite first without `sweep_after`, which most touches leave in its bucket: one
    // statement that writes no index entry, and a second only when the bucket moved (or the
    // session is gone). Elsewhere one statement: the server sees the value did not change.
    if (
      this.table.dialect === 'sqlite' &&
      (await this.table.write(this.sql.touchInBucket, refresh)) > 0
    )
      return true;
    return (await this.table.write(this.sql.touch, refresh)) > 0;
  }

  /**
   * A logout: the session's row and its user's entry deleted together. On PostgreSQL one
   * statement; on SQLite one transaction.
   */
  private async destroyWithEntry(
    sid: string,
    userId: string,
  ): Promise<boolean> {
    await this.ready();
    const row = this.liveRow(sid);
    if (this.sql.destroyWithEntry)
      return (
        (await this.table.write(this.sql.destroyWithEntry, {
          ...this.users.entryKey(userId, sid),
          ...row,
        })) > 0
      );
    const [deleted] = await this.table.writeTogether([
      bound(this.sql.destroy, row),
      this.users.removing(userId, sid),
    ]);
    return deleted > 0;
  }

  /** An expired row is left to the sweep: it was no session any more. */
  async destroy(sid: string): Promise<boolean> {
    await this.ready();
    return (await this.table.write(this.sql.destroy, this.liveRow(sid))) > 0;
  }

  async ping(): Promise<void> {
    await this.table.run(this.table.db.raw('select 1'));
  }

  close(): Promise<void> {
    return this.table.db.destroy();
  }

  async removeExpired(options?: SweepOptions): Promise<number> {
    await this.ready();
    return removeExpiredRows(this.table, options);
  }

  private async current(key: string): Promise<LoadedSession | null> {
    const [row] = await this.table.read<SessionRow, Live>(this.sql.load, {
      key,
      now: Date.now(),
    });
    // Not the key: the codec would log it, and a log line must name no session.
    const session = row && this.codec.decode(row.sess);
    return session ? { session, version: Number(row.version) } : null;
  }

  /** What a create writes: the row of a new session, with a new version. */
  private newRow(sid: string, session: SessionData, ttlSeconds: number) {
    return {
      key: this.prefix + sid,
      ...this.data(session, ttlSeconds),
      version: newVersion(),
    };
  }

  /** `sid`'s row as a statement on live rows names it. */
  private liveRow(sid: string) {
    return { key: this.prefix + sid, now: Date.now() };
  }

  private data(session: SessionData, ttlSeconds: number) {
    return {
      sess: toBytes(this.codec.encode(session)),
      ...this.expiry(ttlSeconds),
    };
  }

  /** The expiry `ttlSeconds` from now, and the sweep's bucket for it. */
  private expiry(ttlSeconds: number): Expiry {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    return {
      expiresAt,
      sweepAfter: sweepAfter(expiresAt, this.table.sweepBucketMs),
    };
  }
}

/** PostgreSQL would parse a string bound to bytea as escape syntax; bytes go in as they are. */
function toBytes(encoded: string | Buffer): Buffer {
  return typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
}
