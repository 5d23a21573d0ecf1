import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { withDeadline } from '../common/deadline.js';
import { SessionFileError } from './file-errors.js';
import { createFile, readWithStats } from './file-io.js';
import { breakerNameOf } from './file-names.js';
import { found, orNull } from './session-file.js';

/**
 * A lock file older than this (by its mtime) was left by a crashed or frozen holder, on this
 * host or another one sharing the folder, and is broken. Holders on this host that died are
 * seen at once (their pid is gone); this bounds the wait for the others.
 */
export const STALE_LOCK_MS = 10_000;
/**
 * A holder changes nothing once it has held its lock this long: past it, the lock may be
 * judged stale soon and broken, and the holder would act beside the next one.
 */
const HOLD_LIMIT_MS = STALE_LOCK_MS / 2;
/** Waits between attempts on a held lock: doubling from the first, up to the last. */
const FIRST_RETRY_MS = 1;
const LAST_RETRY_MS = 25;

const HOST = hostname();
/**
 * Tokens of the locks this thread holds. A lock naming this pid and thread with another token
 * was left by an earlier process that had the same pid (a restarted container's pid 1, say).
 */
const heldHere = new Set<string>();

/** What a lock file says of its holder; all but ino and mtime are missing while it is written. */
interface LockInfo {
  ino: number;
  mtimeMs: number;
  host: string;
  pid: number;
  /** The worker thread (0: the main one): threads of one process do not share `heldHere`. */
  thread: number;
  token: string;
}

/**
 * Waiters of this thread per lock path, chained: only the first polls the lock file, the
 * others wait their turn and go the moment it is released.
 */
const queues = new Map<string, Promise<void>>();
let lastToken = 0;
/** Tokens are this thread's nonce and a counter: unique, and cheap for a sweep of 100k. */
const PROCESS_NONCE = randomBytes(9).toString('base64url');

/**
 * A lock on one session file, shared by every process that uses the folder: a file created
 * with O_EXCL beside the session, holding `host\npid\nthread\ntoken`. Writers and destroyers hold it
 * while they check the stored version and rename or unlink; readers never take it.
 */
export class FileLock {
  private readonly acquiredAt = performance.now();

  private constructor(
    private readonly path: string,
    private readonly token: string,
    private readonly deadline: number,
    /** Lets the next waiter of this process go. */
    private readonly leave: () => void = () => undefined,
  ) {}

  /**
   * Takes the lock at `path`, after the waiters of this process that came first, waiting for
   * its holder until `deadline` (a `performance.now()` time), breaking it if stale.
   */
  static async acquire(path: string, deadline: number): Promise<FileLock> {
    const ahead = queues.get(path);
    let turnEnds!: () => void;
    const turn = new Promise<void>((resolve) => (turnEnds = resolve));
    const tail = ahead ? ahead.then(() => turn) : turn;
    queues.set(path, tail);
    const leave = () => {
      turnEnds();
      if (queues.get(path) === tail) queues.delete(path);
    };
    try {
      if (ahead) await until(ahead, deadline);
      for (let attempt = 0; ; attempt++) {
        const lock = await FileLock.take(path, Date.now(), deadline, leave);
        if (lock) return lock;
        const backoff = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
        await until(sleep(backoff * (0.5 + Math.random())), deadline);
      }
    } catch (err) {
      leave();
      throw err;
    }
  }

  /**
   * The lock if no one here waits for it and it is free or stale (then broken); null
   * otherwise. For the sweep, which passes over busy sessions.
   */
  static tryAcquire(path: string, now: number): Promise<FileLock | null> {
    if (queues.has(path)) return Promise.resolve(null);
    return FileLock.take(path, now, Infinity);
  }

  private static async take(
    path: string,
    now: number,
    deadline: number,
    leave?: () => void,
  ): Promise<FileLock | null> {
    const token = `${PROCESS_NONCE}.${++lastToken}`;
    const content = `${HOST}\n${process.pid}\n${threadId}\n${token}\n`;
    // Known before the file exists, so no one here takes it for a leftover of this pid.
    heldHere.add(token);
    try {
      if (
        (await create(path, content)) ||
        ((await breakIfStale(path, now)) && (await create(path, content)))
      )
        return new FileLock(path, token, deadline, leave);
    } catch (err) {
      heldHere.delete(token);
      throw err;
    }
    heldHere.delete(token);
    return null;
  }

  /**
   * Throws unless acting under the lock is still safe: before the caller's deadline (its call
   * has failed by then), and well before anyone may judge the lock stale.
   */
  assertHeld(): void {
    const now = performance.now();
    if (now > this.deadline || now - this.acquiredAt > HOLD_LIMIT_MS)
      throw new SessionFileError(
        'Session file lock: held past its deadline; nothing was changed',
        'ETIMEDOUT',
      );
  }

  async release(): Promise<void> {
    try {
      if (performance.now() - this.acquiredAt < HOLD_LIMIT_MS)
        await orNull(fs.unlink(this.path));
      // Held long enough to have been broken: the file there may be another holder's now.
      else
        await removeIf(
          this.path,
          (lock) => lock.token === this.token,
          Date.now(),
        );
    } finally {
      heldHere.delete(this.token);
      this.leave();
    }
  }
}

/** `work`, or a timeout error once `deadline` (a `performance.now()` time) has passed. */
const until = <T>(work: Promise<T>, deadline: number): Promise<T> =>
  withDeadline(
    work,
    deadline - performance.now(),
    () =>
      new SessionFileError(
        'Session file lock: timed out waiting for another writer',
        'ETIMEDOUT',
      ),
  );

/** Removes the lock at `path` if its holder is gone; true when it did. */
export async function breakIfStale(
  path: string,
  now: number,
): Promise<boolean> {
  const seen = await readLock(path);
  if (!seen || !isStale(seen, now)) return false;
  return removeIf(
    path,
    (lock) =>
      lock.ino === seen.ino &&
      lock.mtimeMs === seen.mtimeMs &&
      lock.token === seen.token,
    now,
  );
}

/** Removes a breaker file (see {@link removeIf}) left by a process that crashed holding it. */
export async function removeStaleBreaker(
  path: string,
  now: number,
): Promise<boolean> {
  const stats = await orNull(fs.lstat(path));
  // A breaker is held for a few system calls: an old one was left by a crash.
  return (
    stats !== null &&
    now - stats.mtimeMs > STALE_LOCK_MS &&
    (await found(fs.unlink(path)))
  );
}

function isStale(lock: LockInfo, now: number): boolean {
  if (now - lock.mtimeMs > STALE_LOCK_MS) return true;
  if (lock.host !== HOST || !lock.token) return false;
  if (lock.pid !== process.pid) return !isRunning(lock.pid);
  // Another thread's: it may well hold it, as far as this one can tell.
  return lock.thread === threadId && !heldHere.has(lock.token);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Unlinks the lock at `path` if it is still the one `matches` recognises. Checking and
 * unlinking are two steps, so breakers take turns through a second O_EXCL file: otherwise one
 * could unlink the fresh lock another breaker had just taken. A busy breaker means someone is
 * at it already: this one gives up (and retries with its next attempt on the lock).
 */
async function removeIf(
  path: string,
  matches: (lock: LockInfo) => boolean,
  now: number,
): Promise<boolean> {
  const breaker = join(dirname(path), breakerNameOf(basename(path)));
  const taken =
    (await create(breaker, '')) ||
    ((await removeStaleBreaker(breaker, now)) && (await create(breaker, '')));
  if (!taken) return false;
  try {
    const lock = await readLock(path);
    return lock !== null && matches(lock) && (await found(fs.unlink(path)));
  } finally {
    await found(fs.unlink(breaker));
  }
}

/** Creates `path` holding `content` unless it exists; false when it does. */
const create = (path: string, content: string): Promise<boolean> =>
  createFile(path, Buffer.from(content));

async function readLock(path: string): Promise<LockInfo | null> {
  const file = await readWithStats(path);
  if (!file) return null;
  const { ino, mtimeMs } = file.stats;
  const [host = '', pid = '', thread = '', token = ''] = file.bytes
    .toString('utf8')
    .split('\n');
  return {
    ino,
    mtimeMs,
    host,
    pid: Number(pid),
    thread: Number(thread),
    token,
  };
}
