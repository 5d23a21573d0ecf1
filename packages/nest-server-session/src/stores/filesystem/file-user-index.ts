import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { sessionIdOfKey } from '../../session-id.js';
import type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import { guard } from './file-errors.js';
import {
  keyOfFileName,
  sessionFileName,
  userFolderName,
} from './file-names.js';
import { readWithStats } from './file-io.js';
import { inParallel } from './folder.js';
import { found, isLive, orNull, writeTemp } from './session-file.js';

/**
 * An entry is written just before its session, maybe by another process: one younger than
 * this whose session is not there yet is left alone, neither listed nor pruned.
 */
export const WRITE_GRACE_MS = 60_000;
/** Entries a user may gather before logins prune those of ended sessions. */
const PRUNE_ABOVE = 16;
/**
 * Above {@link PRUNE_ABOVE}, a login lists (and so prunes) the user's n entries with a chance
 * of this many in n: about this many entry reads a login, however many sessions the user has,
 * where a listing at every login read all n (ten logins of one user at once keep more than
 * sixteen entries there, each login's new one written before the old one is removed). Between
 * two prunes a user gathers about n / this many ended entries; listings and the sweep prune too.
 */
const PRUNE_READS = 4;
/** Entries read at once by a listing. */
const IN_FLIGHT = 16;
/** Writes of an entry retried when other processes keep removing its (empty) folder. */
const ADD_ATTEMPTS = 10;

/** What an entry file holds: its user, so that an entry is never taken for another's. */
interface EntryContent {
  user: string;
  device: SessionDevice;
}

/**
 * The per-user index on disk: a folder per user in the session folder ({@link userFolderName},
 * mode 0700) holding a file per session of the user, named as the session's own file, with
 * the user id and the device as JSON (0600, synced, renamed into place whole; its mtime is
 * when it was written). Adding and removing write or unlink one file; listing reads that
 * folder alone and stats each session's file for its expiry. No lock is needed: every change
 * is one rename or unlink, atomic for readers in every process.
 *
 * Empty folders are removed (by a remove, a listing, the sweep) with rmdir, which fails if
 * another process has just put a file in them; an add whose folder went between its mkdir and
 * its write makes it again. Entries of ended sessions are pruned by listings, by some logins
 * once there are more than {@link PRUNE_ABOVE}, and by the sweep.
 */
export class FileUserIndex implements UserSessionIndex {
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    /** Whether a login prunes (see {@link PRUNE_READS}); tests fix it. */
    private readonly random: () => number = Math.random,
  ) {}

  /** `ttlSeconds` is not needed: an entry stays while its session lives. */
  add(
    userId: string,
    sid: string,
    device: SessionDevice,
    _ttlSeconds?: number,
  ): Promise<void> {
    return guard('index add', async () => {
      const folder = this.folderOf(userId);
      const content: EntryContent = { user: userId, device };
      // The temp file is in the folder, so no one can remove the folder before the rename.
      const temp = await writeIn(folder, JSON.stringify(content));
      try {
        await fs.rename(temp.path, join(folder, this.entryName(sid)));
      } catch (err) {
        await found(fs.unlink(temp.path));
        throw err;
      }
      const names = (await orNull(fs.readdir(folder))) ?? [];
      if (
        names.length > PRUNE_ABOVE &&
        this.random() * names.length < PRUNE_READS
      )
        await this.list(userId);
    });
  }

  remove(userId: string, sids: string[]): Promise<void> {
    return guard('index remove', async () => {
      const folder = this.folderOf(userId);
      await inParallel(sids, IN_FLIGHT, (sid) =>
        found(fs.unlink(join(folder, this.entryName(sid)))),
      );
      await removeIfEmpty(folder);
    });
  }

  /** `now` is for tests, to list "later" (past the grace of entries without a session). */
  list(userId: string, now = Date.now()): Promise<IndexedSession[]> {
    return guard('index list', async () => {
      const folder = this.folderOf(userId);
      const names = (await orNull(fs.readdir(folder))) ?? [];
      const entries = await inParallel(names, IN_FLIGHT, (name) =>
        this.entryOf(folder, name, userId, now),
      );
      const pruned = entries.filter((entry) => entry === 'pruned').length;
      if (pruned > 0 && pruned === names.length) await removeIfEmpty(folder);
      return entries.filter(
        (entry): entry is IndexedSession =>
          typeof entry === 'object' && entry !== null,
      );
    });
  }

  /**
   * The entry `name` of `userId`'s folder as listed: null when it is not one of this prefix's
   * and user's, or its session is not written yet; pruned when its session ended.
   */
  private async entryOf(
    folder: string,
    name: string,
    userId: string,
    now: number,
  ): Promise<IndexedSession | 'pruned' | null> {
    const key = keyOfFileName(name);
    const sid = key === undefined ? key : sessionIdOfKey(key, this.prefix);
    if (sid === undefined) return null;
    const path = join(folder, name);
    const entry = await readEntry(path);
    if (entry?.content.user !== userId) return null;
    const session = await sessionOfEntry(
      this.dir,
      name,
      async () => entry.writtenAt,
      now,
    );
    if (typeof session === 'number')
      return { sid, device: entry.content.device, expiresAt: session };
    if (session === 'pending') return null;
    await found(fs.unlink(path));
    return 'pruned';
  }

  private folderOf(userId: string): string {
    return join(this.dir, userFolderName(this.prefix + userId));
  }

  private entryName(sid: string): string {
    return sessionFileName(this.prefix + sid);
  }
}

/**
 * Whether the index entry `name` of the user folder `folder` outlived its session, for the
 * sweep, which knows neither prefixes nor users: the entry is named as the session's file.
 */
export async function entryOutlived(
  dir: string,
  folder: string,
  name: string,
  now: number,
): Promise<boolean> {
  const writtenAt = async () =>
    (await orNull(fs.lstat(join(folder, name))))?.mtimeMs;
  return (await sessionOfEntry(dir, name, writtenAt, now)) === 'ended';
}

/** Removes `folder` if it is empty; false when it is not (or is gone already). */
export async function removeIfEmpty(folder: string): Promise<boolean> {
  try {
    await fs.rmdir(folder);
    return true;
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    // EEXIST: what some systems say for a folder that is not empty.
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT')
      return false;
    throw err;
  }
}

/**
 * The session behind the entry `name`: its expiry when it is live; ended when it expired, or
 * is absent and its entry older than {@link WRITE_GRACE_MS} (or gone); else pending.
 */
async function sessionOfEntry(
  dir: string,
  name: string,
  writtenAt: () => Promise<number | undefined>,
  now: number,
): Promise<number | 'ended' | 'pending'> {
  const stats = await orNull(fs.lstat(join(dir, name)));
  if (stats && isLive(stats, now)) return stats.mtimeMs;
  // A session id is never used again: an expired session cannot come back.
  if (stats) return 'ended';
  const at = await writtenAt();
  return at === undefined || now - at > WRITE_GRACE_MS ? 'ended' : 'pending';
}

/** The entry at `path` and when it was written; null when it is gone or not an entry. */
async function readEntry(
  path: string,
): Promise<{ content: EntryContent; writtenAt: number } | null> {
  const file = await readWithStats(path);
  const content = file && parseEntry(file.bytes.toString('utf8'));
  return content ? { content, writtenAt: file.stats.mtimeMs } : null;
}

function parseEntry(text: string): EntryContent | null {
  try {
    const entry = JSON.parse(text) as Partial<EntryContent> | null;
    return typeof entry?.user === 'string' &&
      typeof entry.device?.createdAt === 'number'
      ? (entry as EntryContent)
      : null;
  } catch {
    return null;
  }
}

/**
 * Writes `data` to a new synced temp file (mtime now) in `folder`, made (0700) when missing:
 * tried first, since the folder is usually there and a mkdir that finds it costs a call.
 * Another process may remove the folder, empty, between the mkdir and the write: then it is
 * made again. (A recursive mkdir would not do: it stats what it found existing, and fails if
 * it went.)
 */
async function writeIn(folder: string, data: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeTemp(folder, data, 0);
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException;
      if (code !== 'ENOENT' || attempt >= ADD_ATTEMPTS) throw err;
    }
    await fs
      .mkdir(folder, { mode: 0o700 })
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
  }
}
