import { createHash } from 'node:crypto';
import type { SessionDevice } from '../store.contract.js';
import {
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';

/**
 * The item that lists one user's sessions on memcached: JSON `{ user, sessions }`, where
 * `user` is the readable id (the key only holds its digest) and each entry is a session id,
 * its device and the session's expiry as the module last set it.
 */
export interface IndexEntry {
  sid: string;
  device: SessionDevice;
  /** Epoch ms; the session's store expiry as of its last write or refresh, to within `slack`. */
  expiresAt: number;
}

/**
 * Most sessions one item lists: past it, the least recently refreshed entries are dropped
 * (a session keeps re-adding itself on its next refresh, pushing out a less active one).
 * 1000 entries of the longest device the module records (a 512-character user agent, an
 * IPv6 address) take about 700 KB, under memcached's 1 MiB item; the byte limit is checked too.
 */
export const MAX_INDEXED_SESSIONS = 1000;

/** Base64url characters of the user id's SHA-256 kept in the key: 162 bits. */
const DIGEST_CHARS = 27;

/**
 * `prefix + 'user:' + digest`: any user id (long, with spaces or control characters) gives a
 * valid key, and `'user:'` plus the digest is 32 characters, the length of a session id, so
 * every prefix the options accept fits in 250 bytes. A ':' never occurs in a session id, so
 * the key is no session's.
 */
export function userIndexKey(prefix: string, userId: string): string {
  const digest = createHash('sha256').update(userId).digest('base64url');
  return `${prefix}user:${digest.slice(0, DIGEST_CHARS)}`;
}

/**
 * The entries of a stored item. An unreadable item counts as empty (it is overwritten); one
 * that names another user means two ids share a digest, which is refused rather than mixed.
 */
export function readIndexItem(value: Buffer, userId: string): IndexEntry[] {
  let item: { user?: unknown; sessions?: unknown };
  try {
    item = JSON.parse(value.toString('utf8')) as typeof item;
  } catch {
    return [];
  }
  if (item?.user !== userId) {
    if (typeof item?.user === 'string')
      throw new Error('memcached user index: two user ids share a key');
    return [];
  }
  return Array.isArray(item.sessions) ? item.sessions.filter(isEntry) : [];
}

const isEntry = (entry: unknown): entry is IndexEntry =>
  typeof entry === 'object' &&
  entry !== null &&
  typeof (entry as IndexEntry).sid === 'string' &&
  typeof (entry as IndexEntry).expiresAt === 'number' &&
  typeof (entry as IndexEntry).device?.createdAt === 'number';

/**
 * The item to store for `entries`, capped to {@link MAX_INDEXED_SESSIONS} and to the item
 * size limit by dropping the least recently refreshed first; and its memcached expiry: past
 * the latest entry's, plus `slackMs` (an entry may understate its session's expiry by that).
 */
export function writeIndexItem(
  userId: string,
  entries: IndexEntry[],
  slackMs: number,
  now = Date.now(),
): { value: Buffer; expiry: number } {
  let kept = entries
    .toSorted((a, b) => b.expiresAt - a.expiresAt)
    .slice(0, MAX_INDEXED_SESSIONS);
  let value = encode(userId, kept);
  while (value.length > MEMCACHED_MAX_VALUE_BYTES) {
    // Rarely more than once: only devices far above the usual size get here.
    kept = kept.slice(0, Math.floor(kept.length * 0.9));
    value = encode(userId, kept);
  }
  const latest = kept[0]?.expiresAt ?? now;
  const ttlSeconds = Math.ceil((latest + slackMs - now) / 1000) + 1;
  return { value, expiry: memcachedExpiry(ttlSeconds, now) };
}

const encode = (user: string, sessions: IndexEntry[]) =>
  Buffer.from(JSON.stringify({ user, sessions }));
