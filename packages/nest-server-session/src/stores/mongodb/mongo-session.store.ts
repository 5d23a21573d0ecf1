import { MongoStore } from 'connect-mongo';
import type { SessionData } from 'express-session';
import { Binary, type Collection, type MongoClient } from 'mongodb';
import { escapeRegExp } from '../../escape-reg-exp.js';
import type { SessionCodec, StoredSession } from '../common/session-codec.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';
import { settle, type Callback } from '../common/store-callback.js';

/** What {@link MongoSessionStore} needs besides the client. */
export interface MongoSessionStoreConfig {
  collectionName: string;
  /** Prepended to every session id to form `_id`. */
  prefix: string;
  /** Longest time in seconds a session stays stored. */
  lifetime: number;
  codec: SessionCodec;
}

interface SessionDoc {
  _id: string;
  session: unknown;
  expires?: Date;
}

/** On the stand-in that {@link MongoSessionStore.set} hands to connect-mongo: the real session. */
const ORIGINAL = Symbol('original session');
type StandIn = SessionData & { [ORIGINAL]?: SessionData };

/** connect-mongo's notion of a live document: no expiry (older writers) or one still ahead. */
const live = () => ({
  $or: [{ expires: { $exists: false } }, { expires: { $gt: new Date() } }],
});

const expiryIn = (seconds: number) => new Date(Date.now() + seconds * 1000);
/** The driver returns BSON Binary for the Buffer a msgpack session was stored as. */
const stored = (raw: unknown) =>
  (raw instanceof Binary ? raw.value() : raw) as StoredSession;

/**
 * connect-mongo's store, documents `{ _id: prefix + sid, session, expires }`, repaired where
 * connect-mongo 6 falls short for us: it never recovers from a failed first connection (nor
 * does driver 7 by itself), stores the cookie's expiry even past the lifetime, fails a touch
 * of a vanished session, and runs all/length/clear over the whole collection.
 */
export class MongoSessionStore extends MongoStore {
  private readonly sessions: Collection<SessionDoc>;
  private connecting?: Promise<unknown>;
  private indexing?: Promise<unknown>;
  private closed = false;

  constructor(
    private readonly client: MongoClient,
    private readonly config: MongoSessionStoreConfig,
  ) {
    const { codec, prefix } = config;
    super({
      client,
      collectionName: config.collectionName,
      ttl: config.lifetime,
      // 'native' builds the same TTL index, but only once: were MongoDB down at that moment,
      // every later call would fail. prepare() builds it and retries until it succeeds.
      autoRemove: 'disabled',
      // Touches are throttled in front of every store (TouchThrottle).
      touchAfter: 0,
      transformId: (sid) => prefix + sid,
      // A msgpack Buffer goes through as is and is stored as BSON Binary.
      serialize: (s) => codec.encode((s as StandIn)[ORIGINAL] ?? s) as string,
      unserialize: (raw) => codec.decode(stored(raw)) as SessionData,
    });
    // The database named in the connection string, as connect-mongo's own db() call picks.
    this.sessions = client.db().collection(config.collectionName);
  }

  /** Connects if need be and creates the TTL index; retried by each write until it succeeds. */
  prepare(): Promise<unknown> {
    this.indexing ??= this.ready()
      .then(() =>
        this.sessions.createIndex({ expires: 1 }, { expireAfterSeconds: 0 }),
      )
      .catch((err: unknown) => {
        this.indexing = undefined;
        throw err;
      });
    return this.indexing;
  }

  async ping(): Promise<void> {
    await this.ready();
    await this.client.db().command({ ping: 1 });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.run(cb, () => this.delegate((done) => super.get(sid, done)));
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    const ttl = sessionTtlSeconds(session, this.config.lifetime);
    if (ttl <= 0) return this.destroy(sid, cb);
    // connect-mongo takes `expires` from the cookie uncapped: give it a capped stand-in.
    const standIn = { cookie: { expires: expiryIn(ttl) }, [ORIGINAL]: session };
    this.run(cb, async () => {
      await this.prepare();
      await this.delegate((done) => super.set(sid, standIn as StandIn, done));
    });
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    const expires = expiryIn(sessionTtlSeconds(session, this.config.lifetime));
    this.run(cb, async () => {
      await this.ready();
      await this.sessions.updateOne(
        { _id: this.config.prefix + sid, ...live() },
        { $set: { expires } },
      );
    });
  }

  destroy(sid: string, cb?: Callback): void {
    this.run(cb, () => this.delegate((done) => super.destroy(sid, done)));
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    this.run(cb, async () => {
      await this.ready();
      const sessions: { [sid: string]: SessionData } = {};
      const docs = this.sessions.find({ ...this.own(), ...live() });
      for await (const { _id: id, session: raw } of docs) {
        const session = this.config.codec.decode(stored(raw), id);
        if (session) sessions[id.slice(this.config.prefix.length)] = session;
      }
      return sessions;
    });
  }

  length(cb: (err: unknown, length: number) => void): void {
    this.run(cb as Callback<number>, async () => {
      await this.ready();
      return this.sessions.countDocuments({ ...this.own(), ...live() });
    });
  }

  clear(cb?: Callback): void {
    this.run(cb, async () => {
      await this.ready();
      await this.sessions.deleteMany(this.own());
    });
  }

  /** An anchored prefix regex is the one prefix match MongoDB answers from the `_id` index. */
  private own() {
    return { _id: { $regex: `^${escapeRegExp(this.config.prefix)}` } };
  }

  /**
   * Connects on first use and again after a failed attempt: driver 7 otherwise keeps the
   * topology of a failed first connection, closed, and fails every later call.
   */
  private ready(): Promise<unknown> {
    if (this.closed)
      return Promise.reject(new Error('MongoDB session store is closed'));
    this.connecting ??= this.client.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** connect-mongo calls back inside a try whose catch calls back again if the callback throws. */
  private async delegate<T>(start: (done: Callback<T>) => void): Promise<T> {
    await this.ready();
    return new Promise((resolve, reject) =>
      start((err, value) => (err ? reject(err) : resolve(value as T))),
    );
  }

  private run<T>(cb: Callback<T> | undefined, work: () => Promise<T>): void {
    settle(work(), cb);
  }
}
