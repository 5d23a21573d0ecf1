import type { SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';
import { setTimeout as pause } from 'node:timers/promises';
import { BatchedEdits, type Edit } from '../common/batched-edits.js';
import { createdAt, userIdAt } from '../common/session-owners.js';
import type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import { checkMemcachedKey } from './memcached-limits.js';
import {
  casOfReply,
  Opcode,
  setExtras,
  Status,
  unexpectedStatus,
} from './memjs-binary.js';
import type { MemjsConnection } from './memjs-client.js';
import {
  readIndexItem,
  userIndexKey,
  writeIndexItem,
  type IndexEntry,
} from './user-index-item.js';

export interface MemcachedUserIndexOptions {
  prefix: string;
  /** Where a session keeps its user id: `userIdKey` split on dots. */
  userIdPath: readonly string[];
  /**
   * How stale an entry's expiry may get before a refresh rewrites it, in ms: `touchAfter`,
   * since the module refreshes a session no more often either.
   */
  slackMs: number;
  /** The store deadline: how long a write may keep losing compare-and-set rounds, in ms. */
  timeoutMs: number;
}

/** memcached's clock ticks in whole seconds: an expiry may land up to one second late. */
const CLOCK_MS = 1000;
/** Longest random pause between two compare-and-set rounds, in ms. */
const MAX_BACKOFF_MS = 16;
/** Entries whose recorded expiry this process remembers (about 100 bytes each). */
const MAX_CONFIRMED = 100_000;

/**
 * Each user's sessions in one memcached item ({@link userIndexKey}), changed by
 * compare-and-set: read with its CAS, written back with it (or ADDed when absent, DELETEd
 * with it when empty), read again and redone when another writer got there first. Listing
 * reads the item and that user's sessions, nothing else.
 *
 * A process batches its own changes of one user's item ({@link BatchedEdits}): ten logins of
 * one user at once read and write the item about twice here, rather than ten times with most
 * of them losing the compare-and-set and redoing it.
 *
 * memcached may evict the item under memory pressure, or it may outlive its expiry less than
 * a session that kept being refreshed: so every write or refresh of a session also refreshes
 * its entry ({@link refresh}), re-adding it when it is missing. The item expires after the
 * latest of its entries. A refresh within the slack of an expiry this process wrote or read
 * for the entry skips the item ({@link confirmed}), so such a repair waits at most that long.
 */
export class MemcachedUserIndex implements UserSessionIndex {
  private readonly batches = new BatchedEdits<IndexEntry[]>((userId, edit) =>
    this.compareAndSet(userId, edit),
  );
  /**
   * The expiry each entry had in its item when this process last wrote or read it, keyed by
   * session id and user id. A write of a session otherwise read its user's item first, to learn
   * that its entry needed no change: a second round trip on each write (a set of a loaded
   * session measured 93 µs of client CPU against connect-memcached's 29).
   */
  private readonly confirmed = new LRUCache<string, number>({
    max: MAX_CONFIRMED,
  });

  constructor(
    private readonly memjs: MemjsConnection,
    private readonly loadSession: (sid: string) => Promise<SessionData | null>,
    private readonly options: MemcachedUserIndexOptions,
  ) {}

  async add(
    userId: string,
    sid: string,
    device: SessionDevice,
    ttlSeconds: number,
  ): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const key = confirmedKey(userId, sid);
    this.confirmed.delete(key);
    await this.change(userId, (entries) => [
      ...entries.filter((entry) => entry.sid !== sid),
      { sid, device, expiresAt },
    ]);
    this.confirmed.set(key, expiresAt);
  }

  remove(userId: string, sids: string[]): Promise<void> {
    for (const sid of sids) this.confirmed.delete(confirmedKey(userId, sid));
    const removed = new Set(sids);
    return this.change(userId, (entries) =>
      entries.some((entry) => removed.has(entry.sid))
        ? entries.filter((entry) => !removed.has(entry.sid))
        : null,
    );
  }

  /**
   * The listed sessions that are stored and still name `userId`; the others are pruned, but
   * for those added within two store deadlines, whose session may not be written yet (the
   * module adds an entry before it writes the session).
   */
  async list(userId: string): Promise<IndexedSession[]> {
    const { entries } = await this.read(userId);
    const sessions = await Promise.all(
      entries.map((entry) => this.loadSession(entry.sid)),
    );
    const now = Date.now();
    const listed: IndexedSession[] = [];
    const stale: string[] = [];
    entries.forEach(({ sid, device, expiresAt }, i) => {
      const session = sessions[i] ?? undefined;
      if (userIdAt(session, this.options.userIdPath) === userId)
        // An expiry already past belongs to a refresh that did not reach the index.
        listed.push({
          sid,
          device,
          expiresAt: expiresAt > now ? expiresAt : null,
        });
      else if (now - device.createdAt > 2 * this.options.timeoutMs)
        stale.push(sid);
    });
    // Best effort: the list is right without it, and the next one prunes again.
    if (stale.length > 0)
      await this.remove(userId, stale).catch(() => undefined);
    return listed;
  }

  /**
   * `sid` was just refreshed or is about to be written, to expire `ttlSeconds` from now: its
   * user's entry says so (unless it already does, to within the slack) and its item lives as
   * long, re-added if it was missing (evicted, or pruned while its session was being written),
   * with what the session tells of its device. Within the slack of the expiry this process last
   * saw in the entry it does nothing, not even read the item: a repair waits that long at most.
   */
  async refresh(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<void> {
    const userId = userIdAt(session, this.options.userIdPath);
    if (userId === undefined || ttlSeconds <= 0) return;
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const staleBefore = expiresAt - this.options.slackMs;
    const key = confirmedKey(userId, sid);
    // With no slack every refresh moves the entry: nothing to skip, and none skipped.
    if (
      this.options.slackMs > 0 &&
      (this.confirmed.get(key) ?? -Infinity) >= staleBefore
    )
      return;
    let recorded = expiresAt;
    await this.change(userId, (entries) => {
      const entry = entries.find((known) => known.sid === sid);
      if (entry && entry.expiresAt >= staleBefore) {
        recorded = entry.expiresAt;
        return null;
      }
      recorded = expiresAt;
      const device = entry?.device ?? {
        createdAt: createdAt(session) ?? Date.now(),
      };
      return [
        ...entries.filter((known) => known !== entry),
        { sid, device, expiresAt },
      ];
    });
    this.confirmed.set(key, recorded);
  }

  /** Applies `edit` to the user's item, in the next batch of this process's edits of it. */
  private change(userId: string, edit: Edit<IndexEntry[]>): Promise<void> {
    return this.batches.edit(userId, edit);
  }

  /**
   * Stores `edit(entries)` over the item stored now, by compare-and-set, redoing it on the
   * newer item after each lost round; `edit` returns null when there is nothing to write.
   * Entries past their expiry are dropped on the way.
   */
  private async compareAndSet(
    userId: string,
    edit: Edit<IndexEntry[]>,
  ): Promise<void> {
    const giveUpAt = Date.now() + this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const { entries, cas } = await this.read(userId);
      const deadline = Date.now() - this.options.slackMs - CLOCK_MS;
      const next = edit(entries.filter((entry) => entry.expiresAt > deadline));
      if (next === null || (await this.write(userId, next, cas))) return;
      if (Date.now() >= giveUpAt)
        throw new Error(
          `memcached user index: gave up after ${attempt} conflicting writes`,
        );
      // Writers that keep colliding are in lockstep: a random pause spreads them out.
      await pause(Math.random() * Math.min(2 ** attempt, MAX_BACKOFF_MS));
    }
  }

  private async read(
    userId: string,
  ): Promise<{ entries: IndexEntry[]; cas?: Buffer }> {
    const reply = await this.memjs.send(this.keyOf(userId), {
      opcode: Opcode.get,
    });
    if (reply.status === Status.notFound) return { entries: [] };
    if (reply.status !== Status.ok) throw unexpectedStatus('get', reply.status);
    return {
      entries: readIndexItem(reply.value, userId),
      cas: casOfReply(reply),
    };
  }

  /**
   * Writes `entries` onto the item read at `cas` (none: there was no item). Resolves false
   * when another writer changed or removed the item meanwhile.
   */
  private async write(
    userId: string,
    entries: IndexEntry[],
    cas: Buffer | undefined,
  ): Promise<boolean> {
    const key = this.keyOf(userId);
    if (entries.length === 0) {
      if (!cas) return true;
      const reply = await this.memjs.send(key, { opcode: Opcode.delete, cas });
      // Gone meanwhile is as good as deleted.
      if (reply.status === Status.ok || reply.status === Status.notFound)
        return true;
      if (reply.status === Status.exists) return false;
      throw unexpectedStatus('delete', reply.status);
    }
    const item = writeIndexItem(userId, entries, this.options.slackMs);
    const extras = setExtras(item.expiry);
    const reply = await this.memjs.send(
      key,
      cas
        ? { opcode: Opcode.set, extras, value: item.value, cas }
        : { opcode: Opcode.add, extras, value: item.value },
    );
    if (reply.status === Status.ok) return true;
    // A CAS that no longer matches, an item gone or one ADDed meanwhile: read it again.
    if (reply.status === Status.exists || reply.status === Status.notFound)
      return false;
    throw unexpectedStatus(cas ? 'cas' : 'add', reply.status);
  }

  private keyOf(userId: string): string {
    const key = userIndexKey(this.options.prefix, userId);
    checkMemcachedKey(key);
    return key;
  }
}

/** The session id's length first, so that no two pairs make one key. */
function confirmedKey(userId: string, sid: string): string {
  return `${sid.length}:${sid}${userId}`;
}
