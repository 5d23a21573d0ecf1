import type { SessionData } from 'express-session';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionListing,
  SessionVersion,
  UserSessionIndex,
} from '../store.contract.js';
import {
  live,
  storedOf,
  type MongoSessionCollection,
  type SessionDoc,
} from './mongo-collection.js';
import { MongoSessionListing } from './mongo-listing.js';
import { MongoStoreError } from './mongo-store.error.js';
import { MongoUserIndex } from './mongo-user-index.js';

/** What a load reads of a document. */
const LOADED = { projection: { session: 1, version: 1 } } as const;

/** Documents at `version`. Version 0 is a document connect-mongo wrote: no version at all. */
const atVersion = (version: number) =>
  version === 0 ? { version: { $in: [null, 0] } } : { version };

const expiryIn = (seconds: number) => new Date(Date.now() + seconds * 1000);

/**
 * Sessions in MongoDB, one document each in connect-mongo's shape `{ _id: prefix + sid,
 * session, expires }` plus a `version` that every write of the session moves on, so that
 * `replace` is one conditional update: it matches only the version the caller loaded, and
 * only while the session is live, and never inserts. connect-mongo itself cannot serve here:
 * its writes are unconditional upserts and report nothing.
 */
export class MongoSessionBackend implements SessionBackend {
  readonly type = 'mongodb';
  readonly listing: SessionListing;
  readonly users: UserSessionIndex;

  constructor(
    private readonly sessions: MongoSessionCollection,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
  ) {
    this.listing = new MongoSessionListing(sessions, prefix, codec);
    this.users = new MongoUserIndex(sessions, prefix);
  }

  load(sid: string): Promise<LoadedSession | null> {
    return this.sessions.call('load', async (c) =>
      this.loaded(
        await c.findOne({ _id: this.prefix + sid, ...live() }, LOADED),
      ),
    );
  }

  /** An upsert: the id is fresh, and the version it reaches is read back in the same call. */
  create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    return this.sessions.write('create', async (c) => {
      const doc = await c.findOneAndUpdate(
        { _id: this.prefix + sid },
        { $set: this.content(session, ttlSeconds), $inc: { version: 1 } },
        { upsert: true, returnDocument: 'after', projection: { version: 1 } },
      );
      if (doc?.version == null)
        throw new MongoStoreError('MongoDB returned no version for an upsert');
      return doc.version;
    });
  }

  /**
   * With the version pinned by the filter, the next one is known without reading it back,
   * and `$set` gives an old document (no version, or null) version 1 where `$inc` would fail
   * on null. No match is a conflict or a session gone: one read tells them apart.
   */
  replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    const key = this.prefix + sid;
    const next = (version as number) + 1;
    return this.sessions.write('replace', async (c) => {
      const { matchedCount } = await c.updateOne(
        { _id: key, ...atVersion(version as number), ...live() },
        { $set: { ...this.content(session, ttlSeconds), version: next } },
      );
      if (matchedCount > 0) return { status: 'replaced', version: next };
      const current = this.loaded(
        await c.findOne({ _id: key, ...live() }, LOADED),
      );
      return current ? { status: 'conflict', current } : { status: 'gone' };
    });
  }

  /** Moves the expiry only: the version stays, as the data does. */
  touch(sid: string, ttlSeconds: number): Promise<boolean> {
    return this.sessions.write('touch', async (c) => {
      const { matchedCount } = await c.updateOne(
        { _id: this.prefix + sid, ...live() },
        { $set: { expires: expiryIn(ttlSeconds) } },
      );
      return matchedCount > 0;
    });
  }

  /** An expired document is left to the TTL monitor: it is no session to destroy. */
  destroy(sid: string): Promise<boolean> {
    return this.sessions.call('destroy', async (c) => {
      const { deletedCount } = await c.deleteOne({
        _id: this.prefix + sid,
        ...live(),
      });
      return deletedCount > 0;
    });
  }

  ping(): Promise<void> {
    return this.sessions.ping();
  }

  close(): Promise<void> {
    return this.sessions.close();
  }

  private content(session: SessionData, ttlSeconds: number) {
    return {
      // A msgpack Buffer is stored as BSON Binary, a JSON string as a string.
      session: this.codec.encode(session),
      expires: expiryIn(ttlSeconds),
    };
  }

  /** An unreadable document loads as no session (the codec logs it), as a missing one. */
  private loaded(
    doc: Pick<SessionDoc, 'session' | 'version'> | null,
  ): LoadedSession | null {
    const session = doc && this.codec.decode(storedOf(doc.session));
    return session ? { session, version: doc.version ?? 0 } : null;
  }
}
