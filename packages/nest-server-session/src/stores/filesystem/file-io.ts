import * as fs from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { promisify } from 'node:util';

/*
 * Whole-file reads and writes on a plain descriptor, through fs's callback API. The promise
 * API's FileHandle costs about twice the CPU per call (a FileHandle object with its own
 * promises and finalizer, and `readFile` stats the file again to size its buffer), and a
 * session read is nothing but these calls. Still one hop to libuv's thread pool per step, never
 * a synchronous call: a stalled disk must not block the event loop, or no deadline could fire.
 */
const open = promisify(fs.open);
const close = promisify(fs.close);
const fstat = promisify(fs.fstat) as {
  (fd: number, options: { bigint: true }): Promise<BigIntStats>;
  (fd: number, options?: { bigint?: false }): Promise<Stats>;
};
const read = promisify(fs.read);
const write = promisify(fs.write);
const futimes = promisify(fs.futimes);
const fsync = promisify(fs.fsync);
const unlink = promisify(fs.unlink);

/** A file's bytes and its stats, both of one descriptor, so of one version of the name. */
export interface FileContent<S> {
  stats: S;
  bytes: Buffer;
}

/**
 * The bytes and stats of the file at `path`, or null when there is none. Our files are never
 * changed in place (each version is a new file renamed over the name), so the size the stats
 * give is the size to read.
 */
export function readWithStats(
  path: string,
  bigint: true,
): Promise<FileContent<BigIntStats> | null>;
export function readWithStats(
  path: string,
  bigint?: false,
): Promise<FileContent<Stats> | null>;
export async function readWithStats(
  path: string,
  bigint = false,
): Promise<FileContent<Stats | BigIntStats> | null> {
  let fd: number;
  try {
    fd = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const stats = bigint ? await fstat(fd, { bigint: true }) : await fstat(fd);
    const bytes = Buffer.allocUnsafe(Number(stats.size));
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead: got } = await read(
        fd,
        bytes,
        filled,
        bytes.length - filled,
        filled,
      );
      if (got === 0) break;
      filled += got;
    }
    return { stats, bytes: bytes.subarray(0, filled) };
  } finally {
    await close(fd);
  }
}

export interface NewFileOptions {
  /** Sets the file's mtime (and atime to now): a session file's expiry. */
  mtime?: Date;
  /** fsync before closing, so the bytes are on disk before anything renames the file. */
  sync?: boolean;
}

/** Creates `path` (mode 0600) holding `bytes`; false when it exists already. */
export async function createFile(
  path: string,
  bytes: Buffer,
  options: NewFileOptions = {},
): Promise<boolean> {
  return (await create(path, bytes, options, false)) !== null;
}

/** {@link createFile}, resolving with the new file's stats (null when it existed). */
export function createFileWithStats(
  path: string,
  bytes: Buffer,
  options: NewFileOptions = {},
): Promise<BigIntStats | null> {
  return create(path, bytes, options, true) as Promise<BigIntStats | null>;
}

/** Anything that fails after the create removes the file again. */
async function create(
  path: string,
  bytes: Buffer,
  options: NewFileOptions,
  statsAfter: boolean,
): Promise<BigIntStats | true | null> {
  let fd: number;
  try {
    fd = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    let written = 0;
    while (written < bytes.length)
      written += (
        await write(fd, bytes, written, bytes.length - written, written)
      ).bytesWritten;
    if (options.mtime) await futimes(fd, new Date(), options.mtime);
    if (options.sync) await fsync(fd);
    const stats = statsAfter ? await fstat(fd, { bigint: true }) : true;
    await close(fd);
    return stats;
  } catch (err) {
    await Promise.allSettled([close(fd), unlink(path)]);
    throw err;
  }
}
