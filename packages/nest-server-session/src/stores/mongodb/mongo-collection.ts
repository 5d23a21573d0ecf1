import { Binary, type Collection, type MongoClient } from 'mongodb';
import type { StoredSession } from '../common/session-codec.js';
import type { SessionDevice } from '../store.contract.js';
import { MongoStoreError, mongoStoreError } from './mongo-store.error.js';

/**
 * A session document: connect-mongo's shape, so that sessions written by the previous release
 * (connect-mongo 6) and by connect-mongo itself keep loading, plus a version of our own.
 */
export interface SessionDoc {
  /** `prefix + sid`. */
  _id: string;
  /** The codec's output: a JSON string, or msgpack bytes (BSON Binary once stored). */
  session: StoredSession | Binary;
  /** Deleted by the TTL index once past; never loaded once past. */
  expires: Date;
  /**
   * Bumped by every write of `session`; absent on documents connect-mongo wrote, which count
   * as version 0 until their first write here.
   */
  version?: number | null;
}

/**
 * An entry of the per-user index, in the collection beside the sessions' ({@link
 * usersCollectionName}): one per user and session, of every prefix.
 */
export interface UserEntryDoc {
  /** `[prefix, user, sid]` as JSON: distinct for distinct entries, whatever each holds. */
  _id: string;
  prefix: string;
  user: string;
  sid: string;
  device: SessionDevice;
  /** When it was (last) added: the session is written after it, maybe by another instance. */
  added: Date;
}

/** The per-user index, served by the `{ user, prefix }` index: `<sessions collection>_users`. */
export const usersCollectionName = (sessions: string) => `${sessions}_users`;

/** The index a user's listing is served by: an equality on each field. */
export const USER_INDEX = { user: 1, prefix: 1 } as const;

/** Documents whose expiry is still ahead: the TTL monitor deletes the others only every 60 s. */
export const live = () => ({ expires: { $gt: new Date() } });

/** The stored bytes: the driver hands msgpack's Buffer back as BSON Binary. */
export const storedOf = (raw: SessionDoc['session']): StoredSession =>
  raw instanceof Binary ? raw.buffer.subarray(0, raw.position) : raw;

/** What a call works on: the sessions, and the per-user index beside them. */
export type MongoWork<T> = (
  sessions: Collection<SessionDoc>,
  users: Collection<UserEntryDoc>,
) => Promise<T>;

/**
 * The sessions collection and its per-user index, in the database the client's URL names,
 * behind a client that connects on first use and again after a failed attempt (driver 7 alone
 * keeps the topology of a failed first connection, closed, and fails every later call). Every
 * call's error is told without what the driver quotes of documents ({@link mongoStoreError}).
 */
export class MongoSessionCollection {
  private readonly collection: Collection<SessionDoc>;
  private readonly users: Collection<UserEntryDoc>;
  private connecting?: Promise<unknown>;
  private indexing?: Promise<unknown>;
  private closed = false;

  constructor(
    private readonly client: MongoClient,
    collectionName: string,
  ) {
    const db = client.db();
    this.collection = db.collection<SessionDoc>(collectionName);
    this.users = db.collection<UserEntryDoc>(
      usersCollectionName(collectionName),
    );
  }

  /**
   * Connects if need be and creates the TTL index and the per-user one; every write retries
   * them until they exist.
   */
  prepare(): Promise<unknown> {
    return this.describingErrors('index creation', () => this.indexed());
  }

  /** Runs `work` on the collections once connected. */
  call<T>(operation: string, work: MongoWork<T>): Promise<T> {
    return this.describingErrors(operation, async () => {
      await this.ready();
      return work(this.collection, this.users);
    });
  }

  /** Runs `work` on the collections once connected and indexed (see prepare). */
  write<T>(operation: string, work: MongoWork<T>): Promise<T> {
    return this.describingErrors(operation, async () => {
      await this.indexed();
      return work(this.collection, this.users);
    });
  }

  ping(): Promise<void> {
    return this.describingErrors('ping', async () => {
      await this.ready();
      await this.client.db().command({ ping: 1 });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  /**
   * The index connect-mongo's `autoRemove: 'native'` makes, which connect-mongo tries only
   * once: were MongoDB down at that moment, sessions would never expire on the server. And the
   * one a user's listing reads, without which it would scan every user's entries.
   */
  private indexed(): Promise<unknown> {
    this.indexing ??= this.ready()
      .then(() =>
        Promise.all([
          this.collection.createIndex(
            { expires: 1 },
            { expireAfterSeconds: 0 },
          ),
          this.users.createIndex(USER_INDEX),
        ]),
      )
      .catch((err: unknown) => {
        this.indexing = undefined;
        throw err;
      });
    return this.indexing;
  }

  private ready(): Promise<unknown> {
    if (this.closed)
      return Promise.reject(
        new MongoStoreError('MongoDB session store is closed'),
      );
    this.connecting ??= this.client.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async describingErrors<T>(
    operation: string,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw mongoStoreError(operation, err);
    }
  }
}
