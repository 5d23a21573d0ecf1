import type { SessionData } from 'express-session';
import * as fs from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionVersion,
  SweepOptions,
} from '../store.contract.js';
import { guard, isLockWaitTimeout } from './file-errors.js';
import { FileLock } from './file-lock.js';
import { FileListing } from './file-listing.js';
import { lockNameOf, sessionFileName } from './file-names.js';
import { sweepFolder } from './file-sweep.js';
import { FileUserIndex } from './file-user-index.js';
import {
  expiryIn,
  found,
  isLive,
  linkedInPlace,
  orNull,
  readLive,
  writeTemp,
  type StoredVersion,
} from './session-file.js';

type TempFile = Awaited<ReturnType<typeof writeTemp>>;

/** Share of the store deadline a replace waits for the session's lock. */
const LOCK_WAIT_SHARE = 0.75;

export { MAX_FILE_KEY_BYTES } from './file-names.js';

/**
 * One file per session, named base64url(prefix + id) + `.session`, mode 0600 in a 0700
 * folder, holding what the codec wrote; its mtime is the expiry, checked without decoding and
 * moved by `utimes` alone. Each version goes to a synced temp file renamed over the name, so
 * readers, who take no lock, see a whole version or none. Writers and destroyers in every
 * process sharing the folder take the session's {@link FileLock} to check the stored version
 * and rename or unlink: `replace` is a compare-and-set, and nothing re-creates a destroyed
 * session. Lock waits end at the store deadline. Each user's sessions are listed in a folder
 * of their own ({@link FileUserIndex}).
 */
export class FileSessionBackend implements SessionBackend {
  readonly type = 'filesystem';
  readonly listing: FileListing;
  readonly users: FileUserIndex;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly codec: SessionCodec,
    /** The store deadline: no call waits longer for a lock. */
    private readonly timeoutMs: number,
  ) {
    this.listing = new FileListing(dir, prefix, {
      load: async (name) => (await this.loadFile(name))?.session ?? null,
      remove: (name) => this.remove(name, this.deadline()),
    });
    this.users = new FileUserIndex(dir, prefix);
  }

  load(sid: string): Promise<LoadedSession | null> {
    return guard('load', () => this.loadFile(this.nameOf(sid)));
  }

  create(
    sid: string,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<SessionVersion> {
    return guard('create', async () => {
      const name = this.nameOf(sid);
      const temp = await this.writeTemp(session, ttlSeconds);
      // A fresh id has no file: a hard link puts the written version in place in one step
      // that fails if a file is there, so it needs no lock (whose file costs three calls to
      // take and one to release). An id that has a file, or a file system without hard links,
      // takes the lock and renames over it, as create may overwrite.
      if (await linkedInPlace(temp.path, join(this.dir, name))) {
        await fs.unlink(temp.path).catch(() => undefined);
        return temp.version;
      }
      return this.locked(name, this.deadline(), temp, (lock) =>
        this.publish(name, lock, temp),
      );
    });
  }

  replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
    ttlSeconds: number,
  ): Promise<ReplaceOutcome> {
    return guard('replace', async () => {
      // Part of the call's deadline, so that a wait for the lock ends as a conflict (which the
      // caller retries) before the call itself times out.
      const deadline = this.deadline(LOCK_WAIT_SHARE);
      const name = this.nameOf(sid);
      const path = join(this.dir, name);
      // A first look without the lock: a stale version conflicts without queueing for it.
      const early = this.unlessAt(version, await readLive(path));
      if (early) return early;
      // Written and synced before taking the lock, so that concurrent writers sync in
      // parallel and the lock is held only to check the version and rename.
      const temp = await this.writeTemp(session, ttlSeconds);
      try {
        return await this.locked(name, deadline, temp, async (lock) => {
          const outcome = this.unlessAt(version, await readLive(path));
          if (outcome) return outcome;
          const written = await this.publish(name, lock, temp);
          return { status: 'replaced', version: written } as const;
        });
      } catch (err) {
        // Other writers kept the session's lock all this time: they are writing it, so this
        // version is most likely stale. A conflict: the caller reads again and retries.
        if (isLockWaitTimeout(err)) return { status: 'conflict' } as const;
        throw err;
      }
    });
  }

  touch(sid: string, ttlSeconds: number): Promise<boolean> {
    return guard('touch', async () => {
      const path = join(this.dir, this.nameOf(sid));
      if (!isLive(await orNull(fs.stat(path)))) return false;
      // Only the mtime moves, so a concurrent write is never undone; a file destroyed since
      // the stat fails utimes with ENOENT rather than coming back.
      return found(fs.utimes(path, new Date(), expiryIn(ttlSeconds)));
    });
  }

  destroy(sid: string): Promise<boolean> {
    return guard('destroy', () =>
      this.remove(this.nameOf(sid), this.deadline()),
    );
  }

  async ping(): Promise<void> {
    // Listing, creating and opening files need R, W and X.
    const { R_OK, W_OK, X_OK } = fs.constants;
    await fs.access(this.dir, R_OK | W_OK | X_OK);
  }

  async close(): Promise<void> {}

  /** `now` is for tests, to sweep "later" (ctime, which ages temp files, cannot be set). */
  removeExpired(options: SweepOptions = {}, now = Date.now()): Promise<number> {
    return guard('sweep', () => sweepFolder(this.dir, options, now));
  }

  private async loadFile(name: string): Promise<LoadedSession | null> {
    const stored = await readLive(join(this.dir, name));
    const session = stored && this.codec.decode(stored.bytes);
    return session ? { session, version: stored.version } : null;
  }

  /** Null when `current` is still at `version`; else what `replace` answers. */
  private unlessAt(
    version: SessionVersion,
    current: StoredVersion | null,
  ): ReplaceOutcome | null {
    if (current?.version === version) return null;
    const session = current && this.codec.decode(current.bytes);
    return session
      ? { status: 'conflict', current: { session, version: current.version } }
      : { status: 'gone' };
  }

  private writeTemp(
    session: SessionData,
    ttlSeconds: number,
  ): Promise<TempFile> {
    return writeTemp(this.dir, this.codec.encode(session), ttlSeconds);
  }

  /**
   * Renames a written temp file over the session's name, under its lock: the rename replaces
   * the file in one step, so a reader sees one version or the other.
   */
  private async publish(
    name: string,
    lock: FileLock,
    temp: TempFile,
  ): Promise<SessionVersion> {
    lock.assertHeld();
    await fs.rename(temp.path, join(this.dir, name));
    return temp.version;
  }

  private remove(name: string, deadline: number): Promise<boolean> {
    const path = join(this.dir, name);
    return this.locked(name, deadline, undefined, async (lock) => {
      const stats = await orNull(fs.lstat(path));
      if (!stats) return false;
      lock.assertHeld();
      return (await found(fs.unlink(path))) && isLive(stats);
    });
  }

  /**
   * `work` under the session's lock; `temp`, a version written for it, is removed unless
   * `work` renamed it into place.
   */
  private async locked<T>(
    name: string,
    deadline: number,
    temp: TempFile | undefined,
    work: (lock: FileLock) => Promise<T>,
  ): Promise<T> {
    try {
      const lock = await FileLock.acquire(
        join(this.dir, lockNameOf(name)),
        deadline,
      );
      try {
        return await work(lock);
      } finally {
        await lock.release();
      }
    } finally {
      if (temp) await fs.unlink(temp.path).catch(() => undefined);
    }
  }

  private nameOf(sid: string): string {
    return sessionFileName(this.prefix + sid);
  }

  private deadline(share = 1): number {
    return performance.now() + this.timeoutMs * share;
  }
}

/** The filesystem store; fails naming the directory and the reason when it cannot be used. */
export async function createFileBackend(
  options: ResolvedOptionsOf<'filesystem'>,
  codec: SessionCodec,
): Promise<FileSessionBackend> {
  const dir = resolve(options.directory);
  const backend = new FileSessionBackend(
    dir,
    options.prefix,
    codec,
    options.storeTimeoutMs,
  );
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // Checked now, so that boot fails, not requests.
    await backend.ping();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).message;
    throw new Error(`Session directory ${dir} is unusable: ${reason}`, {
      cause: err,
    });
  }
  return backend;
}
