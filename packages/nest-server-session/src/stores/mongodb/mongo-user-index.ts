import type { Collection } from 'mongodb';
import type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import {
  live,
  type MongoSessionCollection,
  type SessionDoc,
  type UserEntryDoc,
} from './mongo-collection.js';

/** Entries a user may gather before a login prunes those of ended sessions. */
const PRUNE_ABOVE = 16;
/**
 * An entry is added just before its session is written (maybe by another app instance): one
 * younger than this whose session is not there yet is left alone, not pruned.
 */
const WRITE_GRACE_MS = 60_000;

/** What a listing reads of an entry. */
const LISTED = { projection: { sid: 1, device: 1, added: 1 } } as const;
/** What a listing reads of a session: its expiry, never its data. */
const EXPIRY = { projection: { expires: 1 } } as const;

/**
 * Each user's sessions, one document per user and session in a collection of their own
 * (`<collection>_users`, {@link UserEntryDoc}), found by the `{ user, prefix }` index: a
 * listing is one indexed query on the user plus one `$in` read of those sessions' expiries,
 * O(that user's sessions) whatever the number of users.
 *
 * The entries are not fields of the session documents because an entry is added before its
 * session is written: the session's own upsert would have to complete a half-made document
 * that loads, lists, counts and compare-and-sets as a session (connect-mongo's readers too),
 * and one session may briefly belong to two users (the new one is added before the old one is
 * removed). Nor do the entries expire by a TTL index: a session refreshed by activity outlives
 * any expiry set at login, and its entry must not go before it, while refreshing entries with
 * every touch would double the writes of every request. Entries of sessions that ended
 * without a logout (expiry) are pruned instead when the user's sessions are listed, and at a
 * login once there are more than {@link PRUNE_ABOVE}.
 */
export class MongoUserIndex implements UserSessionIndex {
  constructor(
    private readonly collections: MongoSessionCollection,
    private readonly prefix: string,
  ) {}

  /** One upsert, whose `added` restarts the grace; the TTL is left to the session itself. */
  add(userId: string, sid: string, device: SessionDevice): Promise<void> {
    return this.collections.write('user index add', async (sessions, users) => {
      await users.updateOne(
        { _id: this.entryId(userId, sid) },
        {
          $set: {
            prefix: this.prefix,
            user: userId,
            sid,
            device,
            added: new Date(),
          },
        },
        { upsert: true },
      );
      if ((await users.countDocuments(this.of(userId))) > PRUNE_ABOVE)
        await this.liveEntries(sessions, users, userId);
    });
  }

  /** By `_id`: no query on the user is needed to forget known sessions. */
  async remove(userId: string, sids: string[]): Promise<void> {
    if (sids.length === 0) return;
    const ids = sids.map((sid) => this.entryId(userId, sid));
    await this.collections.call('user index remove', (_sessions, users) =>
      users.deleteMany({ _id: { $in: ids } }),
    );
  }

  /** Waits for the indexes, as writes do: without them this would scan every entry. */
  list(userId: string): Promise<IndexedSession[]> {
    return this.collections.write('user index list', (sessions, users) =>
      this.liveEntries(sessions, users, userId),
    );
  }

  /** `userId`'s entries whose session is live, with its expiry; the others are pruned. */
  private async liveEntries(
    sessions: Collection<SessionDoc>,
    users: Collection<UserEntryDoc>,
    userId: string,
  ): Promise<IndexedSession[]> {
    const entries = await users.find(this.of(userId), LISTED).toArray();
    if (entries.length === 0) return [];
    const keys = entries.map(({ sid }) => this.prefix + sid);
    const docs = await sessions
      .find({ _id: { $in: keys }, ...live() }, EXPIRY)
      .toArray();
    const expiries = new Map(
      docs.map(({ _id: key, expires }) => [key, expires]),
    );
    const cutoff = new Date(Date.now() - WRITE_GRACE_MS);
    const listed: IndexedSession[] = [];
    const ended: string[] = [];
    for (const { _id: id, sid, device, added } of entries) {
      const expires = expiries.get(this.prefix + sid);
      if (expires) listed.push({ sid, device, expiresAt: expires.getTime() });
      else if (added.getTime() < cutoff.getTime()) ended.push(id);
    }
    if (ended.length > 0)
      // Unless added again meanwhile: its session may be about to be written.
      await users.deleteMany({ _id: { $in: ended }, added: { $lt: cutoff } });
    return listed;
  }

  /** A user's entries of this prefix: both fields of the `{ user, prefix }` index. */
  private of(userId: string) {
    return { user: userId, prefix: this.prefix };
  }

  private entryId(userId: string, sid: string): string {
    return JSON.stringify([this.prefix, userId, sid]);
  }
}
