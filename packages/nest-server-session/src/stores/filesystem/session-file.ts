import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { createFileWithStats, readWithStats } from './file-io.js';
import { tempName } from './file-names.js';

/** One stored version of a session file. */
export interface StoredVersion {
  bytes: Buffer;
  /** What `load` hands out and `replace` compares; see {@link versionOf}. */
  version: string;
}

/**
 * The version of a session file: the inode's identity (number and birth time, which rename
 * and utimes keep, so a touch leaves it) and a digest of the bytes. Every write is a new inode,
 * but file systems reuse freed inode numbers (ext4 alternates two for one name), so the number
 * alone could come back; with the birth time and the digest, a version repeats only if the
 * same bytes land in a reused inode within one timestamp tick, and then it is the same session.
 */
function versionOf(stats: BigIntStats, bytes: Buffer): string {
  const digest = createHash('sha256').update(bytes).digest('base64url');
  return `${stats.ino}.${stats.birthtimeNs}.${digest.slice(0, 22)}`;
}

/**
 * The live version at `path`, or null when there is none (absent, or expired: the mtime is
 * the expiry). One descriptor serves the expiry check, the bytes and the identity, so they are
 * of one version even if the name is renamed over meanwhile.
 */
export async function readLive(
  path: string,
  now = Date.now(),
): Promise<StoredVersion | null> {
  const file = await readWithStats(path, true);
  if (!file || Number(file.stats.mtimeMs) <= now) return null;
  return { bytes: file.bytes, version: versionOf(file.stats, file.bytes) };
}

/**
 * Writes a version to a new temp file in `dir`, mode 0600, expiring in `ttlSeconds`, synced:
 * renamed over a session's name, it shows a whole version at once, to readers and to the disk
 * after a crash. Resolves with its path and the version it holds.
 */
export async function writeTemp(
  dir: string,
  data: string | Buffer,
  ttlSeconds: number,
): Promise<{ path: string; version: string }> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const path = join(dir, tempName());
  // The expiry is set before the rename, so the file is never visible without it.
  const stats = await createFileWithStats(path, bytes, {
    mtime: expiryIn(ttlSeconds),
    sync: true,
  });
  // Temp names are random and fresh: one that exists is a bug, not a race to lose.
  if (!stats) throw new Error('A temp session file name was taken');
  return { path, version: versionOf(stats, bytes) };
}

export const expiryIn = (ttlSeconds: number) =>
  new Date(Date.now() + ttlSeconds * 1000);

export const isLive = (stats: { mtimeMs: number } | null, now = Date.now()) =>
  stats !== null && stats.mtimeMs > now;

/** The result, or null when the file is not there (destroyed or renamed meanwhile). */
export const orNull = <T>(work: Promise<T>): Promise<T | null> =>
  work.catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });

/** Whether `work` (a rename, an unlink) found its file: false on ENOENT. */
export const found = (work: Promise<unknown>): Promise<boolean> =>
  work.then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );

/** Why a hard link could not be made where a file system has none. */
const NO_LINKS = new Set([
  'EPERM',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSYS',
  'EMLINK',
]);

/**
 * Links `from` at `to` if nothing is there, in one step; false when something is, or when the
 * file system makes no hard links (the caller then takes the locked way).
 */
export async function linkedInPlace(
  from: string,
  to: string,
): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (err) {
    const { code = '' } = err as NodeJS.ErrnoException;
    if (code === 'EEXIST' || NO_LINKS.has(code)) return false;
    throw err;
  }
}
