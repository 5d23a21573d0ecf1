import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Store, type SessionData } from 'express-session';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import { sessionTtlSeconds } from '../common/session-ttl.js';
import type { LegacyHandle as SessionStoreHandle } from '../common/legacy-backend.js';
import { settle, type Callback } from '../common/store-callback.js';
import {
  MAX_NAME_BYTES,
  SESSION_FILE_SUFFIX as SUFFIX,
} from './file-limits.js';

/** Temp files start with a dot, which base64url never does, so none passes for a session. */
const TEMP = /^\..+\.tmp$/;
/** No write takes a minute: an older temp file was left by a crash. */
const STALE_TEMP_MS = 60_000;

/**
 * One file per session, named base64url(prefix + id) + `.session` (safe for any key, and
 * reversible so `all()` lists ids), mode 0600. Its mtime is the session's expiry: checked
 * without decoding, refreshed by `utimes` alone. Writes go to a synced temp file renamed over
 * the target, so readers, and the disk after a crash, hold a whole version or none.
 */
export class FileSessionStore extends Store {
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly lifetime: number,
    private readonly codec: SessionCodec,
  ) {
    super();
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.run(cb, () => this.read(this.fileOf(sid), this.prefix + sid));
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    this.run(cb, async () => {
      const file = this.fileOf(sid);
      const ttl = sessionTtlSeconds(session, this.lifetime);
      if (ttl <= 0) return fs.rm(file, { force: true });
      const data = this.codec.encode(session);
      const temp = tempIn(this.dir);
      const handle = await fs.open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(data);
        // Set before the rename, so the file is never visible without its expiry.
        await handle.utimes(new Date(), expiry(ttl));
        // Synced before the rename, so after a crash the name holds a whole version.
        await handle.sync();
        await handle.close();
        await fs.rename(temp, file);
      } catch (err) {
        await Promise.allSettled([handle.close(), fs.unlink(temp)]);
        throw err;
      }
    });
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    this.run(cb, async () => {
      const file = this.fileOf(sid);
      if (!isLive(await orNull(fs.stat(file)))) return;
      // Only the mtime changes, so a concurrent set is never undone; a file destroyed since the
      // stat fails utimes with ENOENT rather than coming back.
      const ttl = sessionTtlSeconds(session, this.lifetime);
      await orNull(fs.utimes(file, new Date(), expiry(ttl)));
    });
  }

  destroy(sid: string, cb?: Callback): void {
    this.run(cb, () => fs.rm(this.fileOf(sid), { force: true }));
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    this.run(cb, async () => {
      const sessions: { [sid: string]: SessionData } = {};
      for (const [sid, file] of await this.own()) {
        const session = await this.read(file, this.prefix + sid);
        if (session) sessions[sid] = session;
      }
      return sessions;
    });
  }

  length(cb: Callback<number>): void {
    this.all((err, all) => cb(err, all && Object.keys(all).length));
  }

  clear(cb?: Callback): void {
    this.run(cb, async () => {
      for (const [, file] of await this.own())
        await fs.rm(file, { force: true });
    });
  }

  /**
   * Deletes expired sessions of every prefix and stale temp files; returns how many sessions
   * went. unlink() would delete whatever the name holds by then, maybe a version just written,
   * so a file is first renamed aside, which takes one version atomically, and linked back if
   * that one is live; link() never replaces, so a version written meanwhile wins.
   */
  async removeExpired(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(this.dir)) {
      const file = join(this.dir, name);
      const stats = await orNull(fs.lstat(file));
      // ctime, not mtime: a temp file's mtime is already the expiry it was written with.
      if (stats && TEMP.test(name) && now - stats.ctimeMs > STALE_TEMP_MS)
        await fs.rm(file, { force: true });
      if (!stats || keyOf(name) === undefined || isLive(stats, now)) continue;
      const aside = tempIn(this.dir);
      if ((await orNull(fs.rename(file, aside))) === null) continue;
      if (isLive(await fs.lstat(aside), now))
        // Without hard links (some network filesystems), put it back by rename.
        await fs.link(aside, file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') return fs.rename(aside, file);
        });
      else removed++;
      await fs.rm(aside, { force: true });
    }
    return removed;
  }

  /** One descriptor for the expiry check and the read, so both see the same version. */
  private async read(file: string, key: string): Promise<SessionData | null> {
    const handle = await orNull(fs.open(file, 'r'));
    if (!handle) return null;
    try {
      if (!isLive(await handle.stat())) return null;
      return this.codec.decode(await handle.readFile(), key);
    } finally {
      await handle.close();
    }
  }

  /** [id, path] of each session file under this store's prefix, expired ones included. */
  private async own(): Promise<[string, string][]> {
    const names = await fs.readdir(this.dir);
    return names.flatMap((name) => {
      const key = keyOf(name);
      if (!key?.startsWith(this.prefix)) return [];
      return [[key.slice(this.prefix.length), join(this.dir, name)]];
    });
  }

  private fileOf(sid: string): string {
    const name = Buffer.from(this.prefix + sid).toString('base64url') + SUFFIX;
    if (name.length > MAX_NAME_BYTES)
      throw new Error(
        `Session key too long for a file name: ${name.length} > ${MAX_NAME_BYTES} bytes`,
      );
    return join(this.dir, name);
  }

  private run<T>(cb: Callback<T> | undefined, work: () => Promise<T>): void {
    settle(work(), cb);
  }
}

/** The key a session file name stands for; undefined for any other file. */
function keyOf(name: string): string | undefined {
  if (!name.endsWith(SUFFIX)) return undefined;
  const encoded = name.slice(0, -SUFFIX.length);
  const key = Buffer.from(encoded, 'base64url').toString();
  // Buffer decodes leniently; only names this store wrote encode back to themselves.
  return Buffer.from(key).toString('base64url') === encoded ? key : undefined;
}

const tempIn = (dir: string) =>
  join(dir, `.${randomBytes(12).toString('base64url')}.tmp`);
const expiry = (ttlSeconds: number) => new Date(Date.now() + ttlSeconds * 1000);
const isLive = (stats: { mtimeMs: number } | null, now = Date.now()) =>
  stats !== null && stats.mtimeMs > now;

/** The result, or null when the file is not there (destroyed meanwhile, say). */
const orNull = <T>(work: Promise<T>) =>
  work.catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });

/** The filesystem store; fails naming the directory and the reason when it cannot be used. */
export async function createFileStore(
  options: ResolvedOptionsOf<'filesystem'>,
  codec: SessionCodec,
): Promise<SessionStoreHandle> {
  const dir = resolve(options.directory);
  // Listing, creating and opening files need R, W and X; checked now so boot fails, not requests.
  const { R_OK, W_OK, X_OK } = fs.constants;
  const ping = () => fs.access(dir, R_OK | W_OK | X_OK);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await ping();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).message;
    throw new Error(`Session directory ${dir} is unusable: ${reason}`, {
      cause: err,
    });
  }
  const { prefix, lifetime } = options;
  const store = new FileSessionStore(dir, prefix, lifetime, codec);
  return {
    type: 'filesystem',
    store,
    ping,
    removeExpired: () => store.removeExpired(),
    close: () => Promise.resolve(),
  };
}
