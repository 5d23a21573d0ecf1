import type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import { defineAddIndexEntry } from './add-index-entry.script.js';
import type { RedisClient } from './redis-mode.js';

/**
 * A login prunes its user's entries of ended sessions when it brings their count to this, or
 * to a power of two above it: a hash holds at most about twice its user's live sessions, and a
 * user with many live sessions pays for a pruning (a PTTL per entry) once every as many logins.
 */
const PRUNE_FROM = 32;
/**
 * An entry is added just before its session is written (maybe by another app instance): one
 * younger than this whose session is not there yet is left alone, not pruned.
 */
const WRITE_GRACE_MS = 60_000;

/**
 * Each user's sessions in a hash of their own, `prefix + 'user:' + userId`: field the session
 * id, value the device as JSON. Session listings never see it (a `:` is no id character).
 *
 * The hash has no expiry: a session refreshed by activity outlives any expiry set at login, and
 * its entry must not go before it. Entries of sessions that ended without a logout (expiry) are
 * pruned instead when the user's sessions are listed, and at the logins that bring the count to
 * {@link PRUNE_FROM}, 64, 128...
 *
 * Every command names one key, so it all works on a cluster, where a user's hash and their
 * sessions live in different slots: a listing reads the hash, then asks each session's expiry
 * (PTTL) with commands sent together. Cost: O(that user's sessions).
 */
export interface RedisUserIndex extends UserSessionIndex {
  /** The key of `userId`'s hash. */
  keyOf(userId: string): string;
  /** After an entry was added some other way (a login's one script): prunes if it is due. */
  added(userId: string, count: number): Promise<void>;
}

export function redisUserIndex(
  client: RedisClient,
  prefix: string,
): RedisUserIndex {
  const indexKey = (userId: string) => `${prefix}user:${userId}`;
  const addEntry = defineAddIndexEntry(client);

  /** Each entry's session expiry (ms left; -2: gone), and the entries no session backs. */
  async function expiries(entries: Record<string, string>) {
    const sids = Object.keys(entries);
    const left = await Promise.all(
      sids.map((sid) => client.pttl(prefix + sid)),
    );
    const now = Date.now();
    const ended = sids.filter(
      (sid, i) =>
        left[i] === -2 &&
        !(now - (deviceOf(entries[sid])?.createdAt ?? 0) < WRITE_GRACE_MS),
    );
    return { sids, left, ended, now };
  }

  /** Prunes the entries of ended sessions, at the counts that call for it. */
  async function added(userId: string, count: number) {
    if (!isPruningCount(count)) return;
    const key = indexKey(userId);
    const { ended } = await expiries(await client.hgetall(key));
    if (ended.length > 0) await client.hdel(key, ...ended);
  }

  return {
    keyOf: indexKey,
    added,
    add: async (userId, sid, device) => {
      // One command: in the same network write as the session's SET on a cluster (the
      // store's writes of one turn leave together).
      const count = await addEntry(
        indexKey(userId),
        sid,
        JSON.stringify(device),
      );
      await added(userId, count);
    },
    remove: async (userId, sids) => {
      if (sids.length > 0) await client.hdel(indexKey(userId), ...sids);
    },
    list: async (userId) => {
      const key = indexKey(userId);
      const entries = await client.hgetall(key);
      const { sids, left, ended, now } = await expiries(entries);
      if (ended.length > 0) await client.hdel(key, ...ended);
      const live: IndexedSession[] = [];
      sids.forEach((sid, i) => {
        const device = deviceOf(entries[sid]);
        if (device && left[i] !== -2)
          live.push({
            sid,
            device,
            expiresAt: left[i] >= 0 ? now + left[i] : null,
          });
      });
      return live;
    },
  };
}

/** Whether a login that brings the entries to `count` prunes: 32, 64, 128, ... */
const isPruningCount = (count: number) =>
  count >= PRUNE_FROM && (count & (count - 1)) === 0;

/** An entry's device, or undefined when the stored text is not one (it is then ignored). */
function deviceOf(json: string | undefined): SessionDevice | undefined {
  try {
    const device = JSON.parse(json ?? '') as SessionDevice;
    return typeof device?.createdAt === 'number' ? device : undefined;
  } catch {
    return undefined;
  }
}
