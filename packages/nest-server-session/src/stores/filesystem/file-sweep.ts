import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { batchPacer } from '../common/sweep-pace.js';
import type { SweepOptions } from '../store.contract.js';
import { breakIfStale, FileLock, removeStaleBreaker } from './file-lock.js';
import {
  BREAKER_NAME,
  keyOfFileName,
  LOCK_NAME,
  lockNameOf,
  TEMP_NAME,
  tempName,
  USER_FOLDER_NAME,
} from './file-names.js';
import { entryOutlived, removeIfEmpty } from './file-user-index.js';
import { inParallel, namesIn } from './folder.js';
import { found, isLive, orNull } from './session-file.js';

/** Folder entries looked at (so at most sessions deleted) per step of a sweep. */
const DEFAULT_SWEEP_BATCH = 500;
/** Folder entries handled at once by the cleanup command: enough to keep libuv's threads busy. */
const IN_FLIGHT = 16;
/**
 * ...and by the periodic sweep, while the app serves requests. Every step of an entry (lstat,
 * lock, rename, unlink) is a job for libuv's four threads, and so is every step of a request's
 * read, which queued behind sixteen entries' steps: page views' p99 during a sweep of 100,000
 * files was 1.88× that without (2.36× over 1,000,000), and 1.00× with two entries at a time,
 * at half the sweep's speed (786 files a second).
 */
const IN_FLIGHT_PACED = 2;
/** No write takes a minute: an older temp file was left by a crash. */
const STALE_TEMP_MS = 60_000;

/**
 * Deletes the expired sessions of every prefix in `dir`, with the temp files and locks that
 * crashed processes left, and the per-user index entries of ended sessions (a user's folder is
 * one entry of a batch); resolves with how many sessions went. Streams the folder a batch at a
 * time, the entries of a batch in parallel, and lets the event loop run between batches (resting
 * as long as each took when `paced`).
 */
export async function sweepFolder(
  dir: string,
  { batchSize = DEFAULT_SWEEP_BATCH, signal, paced }: SweepOptions,
  now: number,
): Promise<number> {
  let removed = 0;
  if (signal?.aborted) return removed;
  let rest = batchPacer(paced);
  for await (const names of namesIn(dir, batchSize)) {
    const swept = await inParallel(
      names,
      paced ? IN_FLIGHT_PACED : IN_FLIGHT,
      (name) => sweepEntry(dir, name, now),
    );
    removed += swept.filter(Boolean).length;
    await rest();
    if (signal?.aborted) break;
    rest = batchPacer(paced);
  }
  return removed;
}

/** Cleans up one folder entry; true when it was an expired session, now deleted. */
async function sweepEntry(
  dir: string,
  name: string,
  now: number,
): Promise<boolean> {
  const path = join(dir, name);
  if (TEMP_NAME.test(name)) return (await removeIfStaleTemp(path, now), false);
  if (USER_FOLDER_NAME.test(name))
    return (await sweepUserFolder(dir, name, now), false);
  if (LOCK_NAME.test(name)) return (await breakIfStale(path, now), false);
  if (BREAKER_NAME.test(name))
    return (await removeStaleBreaker(path, now), false);
  if (keyOfFileName(name) === undefined) return false;
  if (isLive(await orNull(fs.lstat(path)), now)) return false;
  // A writer or destroyer holds it: it decides, and the next sweep sees what it left.
  const lock = await FileLock.tryAcquire(join(dir, lockNameOf(name)), now);
  if (!lock) return false;
  try {
    return await removeIfExpired(dir, path, lock, now);
  } finally {
    await lock.release();
  }
}

/** Removes the temp file at `path` if it was left by a crash. */
async function removeIfStaleTemp(path: string, now: number): Promise<void> {
  const stats = await orNull(fs.lstat(path));
  // ctime, not mtime: a temp file's mtime is already the expiry it was written with.
  if (stats && now - stats.ctimeMs > STALE_TEMP_MS)
    await found(fs.unlink(path));
}

/**
 * Removes the entries of a user's index folder whose session ended, and temp files left by
 * crashes, then the folder if that left it empty. One entry at a time: the sweep already has
 * {@link IN_FLIGHT} folder entries under way.
 */
async function sweepUserFolder(
  dir: string,
  name: string,
  now: number,
): Promise<void> {
  const folder = join(dir, name);
  const entries = await orNull(fs.readdir(folder)).catch(
    (err: NodeJS.ErrnoException) => {
      // Not a folder: a file that only looks like one, not the index's.
      if (err.code === 'ENOTDIR') return null;
      throw err;
    },
  );
  if (!entries) return;
  for (const entry of entries) {
    const path = join(folder, entry);
    if (TEMP_NAME.test(entry)) await removeIfStaleTemp(path, now);
    else if (
      keyOfFileName(entry) !== undefined &&
      (await entryOutlived(dir, folder, entry, now))
    )
      await found(fs.unlink(path));
  }
  await removeIfEmpty(folder);
}

/**
 * unlink() would delete whatever the name holds by then, maybe a version just touched, so the
 * file is first renamed aside, which takes one version atomically, and linked back if that one
 * is live; link() never replaces, so a version written meanwhile wins.
 */
async function removeIfExpired(
  dir: string,
  path: string,
  lock: FileLock,
  now: number,
): Promise<boolean> {
  const aside = join(dir, tempName());
  lock.assertHeld();
  if (!(await found(fs.rename(path, aside)))) return false;
  if (isLive(await fs.lstat(aside), now)) {
    // Without hard links (some network filesystems), put it back by rename.
    await fs.link(aside, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') return fs.rename(aside, path);
    });
    await found(fs.unlink(aside));
    return false;
  }
  await fs.unlink(aside);
  return true;
}
