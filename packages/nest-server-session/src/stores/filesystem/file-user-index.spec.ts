import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import * as realFsCallbacks from 'node:fs';
import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { createSessionCodec } from '../common/session-codec.js';
import { session, sessionId } from '../common/store.fixtures.js';
import type { UserSessionIndex } from '../store.contract.js';
import type { FileSessionBackend } from './file.store.js';
import { storeChildren } from './file-store.processes.fixtures.js';

/** The file system calls the store makes, with the path each names, in order. */
const calls: { call: string; path: string }[] = [];
const COUNTED = [
  'access',
  'link',
  'lstat',
  'mkdir',
  'open',
  'opendir',
  'readdir',
  'readFile',
  'rename',
  'rmdir',
  'stat',
  'unlink',
  'utimes',
] as const;

// The store's modules see a node:fs/promises that records its calls, so that a test can tell
// what a listing touched by counting, not timing. This spec's own `realFs` is not recorded.
jest.unstable_mockModule('node:fs/promises', () => {
  const recording = Object.fromEntries(
    COUNTED.map((name) => [
      name,
      (path: unknown, ...rest: unknown[]) => {
        calls.push({ call: name, path: String(path) });
        return (realFs[name] as (...args: unknown[]) => unknown)(path, ...rest);
      },
    ]),
  );
  return { ...realFs, ...recording, default: { ...realFs, ...recording } };
});
// Whole-file reads and creates open through the callback API (file-io.ts): recorded the same.
jest.unstable_mockModule('node:fs', () => {
  const open = (path: unknown, ...rest: unknown[]) => {
    calls.push({ call: 'open', path: String(path) });
    return (realFsCallbacks.open as (...args: unknown[]) => unknown)(
      path,
      ...rest,
    );
  };
  return {
    ...realFsCallbacks,
    open,
    default: { ...realFsCallbacks, open },
  };
});
const { createFileBackend } = await import('./file.store.js');
const { FileUserIndex, WRITE_GRACE_MS } = await import('./file-user-index.js');

const LIFETIME = 3600;
const MINUTE = 60_000;

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const nameOf = (key: string) => `${b64(key)}.session`;
const device = (userAgent = 'Firefox') => ({
  createdAt: Date.now(),
  userAgent,
});

/** Moves a file's mtime `ms` from now: a session's expiry, an entry's time of writing. */
const mtimeIn = (path: string, ms: number) =>
  realFs.utimes(path, new Date(), new Date(Date.now() + ms));
/** The 3 sessions of user `u` of the 1000, and its id. */
const sidsOfUser = (u: number) =>
  [0, 1, 2].map((s) => sessionId(`u${String(u).padStart(4, '0')}s${s}`));
const userOf = (u: number) => `user-${u}`;

describe('FileUserIndex', () => {
  let root: string;
  let dir: string;
  let backend: FileSessionBackend;

  const open = (prefix = 'session:', directory = dir) =>
    createFileBackend(
      {
        type: 'filesystem',
        directory,
        prefix,
        lifetime: LIFETIME,
        storeTimeoutMs: 10_000,
      } as ResolvedOptionsOf<'filesystem'>,
      createSessionCodec(),
    );
  /** A login as the module does it: the user's entry first, then the session. */
  const logIn = async (user: string, sid: string, b = backend) => {
    await b.users.add(user, sid, device(), LIFETIME);
    await b.create(sid, session({ user }), LIFETIME);
  };
  /** A login of ann whose entry `index` writes. */
  const logInThrough = async (index: UserSessionIndex, sid: string) => {
    await index.add('ann', sid, device(), LIFETIME);
    await backend.create(sid, session({ user: 'ann' }), LIFETIME);
  };
  const sidsOf = async (user: string, b = backend, now?: number) =>
    (await b.users.list(user, now)).map((entry) => entry.sid).toSorted();
  const folderOf = (key: string) => join(dir, `.${b64(key)}.user`);
  const names = async (folder = dir) =>
    (await realFs.readdir(folder)).toSorted();

  const A = sessionId('a');
  const B = sessionId('b');
  const C = sessionId('c');
  const D = sessionId('d');

  beforeEach(async () => {
    root = await realFs.mkdtemp(join(tmpdir(), 'file-index-'));
    dir = join(root, 'sessions');
    backend = await open();
  });

  afterEach(async () => {
    await backend.close();
    await realFs.rm(root, { recursive: true, force: true });
  });

  it('keeps a folder per user (0700) of entries named as the session files (0600), holding the user and device', async () => {
    await logIn('ann', A);
    await logIn('ann', B);
    await logIn('bob', C);
    const ann = folderOf('session:ann');
    expect((await realFs.stat(ann)).mode & 0o777).toBe(0o700);
    await expect(names(ann)).resolves.toEqual(
      [nameOf(`session:${A}`), nameOf(`session:${B}`)].toSorted(),
    );
    const entry = join(ann, nameOf(`session:${A}`));
    expect((await realFs.stat(entry)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await realFs.readFile(entry, 'utf8'))).toMatchObject({
      user: 'ann',
      device: { userAgent: 'Firefox' },
    });
    // The session listing takes none of it for a session.
    await expect(backend.listing.count()).resolves.toBe(3);
  });

  it('lists a user’s sessions with their device and expiry (the session file’s mtime)', async () => {
    await logIn('ann', A);
    await logIn('ann', B);
    await logIn('bob', C);
    const listed = await backend.users.list('ann');
    expect(listed.map((entry) => entry.sid).toSorted()).toEqual(
      [A, B].toSorted(),
    );
    for (const entry of listed) {
      const { mtimeMs } = await realFs.stat(
        join(dir, nameOf(`session:${entry.sid}`)),
      );
      expect(entry.expiresAt).toBe(mtimeMs);
      expect(entry.device).toMatchObject({ userAgent: 'Firefox' });
    }
    await expect(sidsOf('bob')).resolves.toEqual([C]);
    await expect(sidsOf('nobody')).resolves.toEqual([]);
  });

  it('removes entries, and the user’s folder with the last one; adds make it again', async () => {
    await logIn('ann', A);
    await logIn('ann', B);
    await backend.users.remove('ann', [A, D]);
    await expect(sidsOf('ann')).resolves.toEqual([B]);
    await backend.users.remove('ann', [B]);
    await expect(sidsOf('ann')).resolves.toEqual([]);
    await expect(names()).resolves.toEqual(
      [nameOf(`session:${A}`), nameOf(`session:${B}`)].toSorted(),
    );
    await logIn('ann', C);
    await expect(sidsOf('ann')).resolves.toEqual([C]);
  });

  it('names a user too long for a file name by a digest, and keeps apart users of prefixes whose keys meet', async () => {
    const long = 'é'.repeat(200);
    await logIn(long, A);
    await expect(sidsOf(long)).resolves.toEqual([A]);
    const folders = (await names()).filter((name) => name.endsWith('-sha256'));
    expect(folders).toEqual([
      expect.stringMatching(/^\.[\w-]{43}\.user-sha256$/),
    ]);
    // `app` + `2x` and `app2` + `x` are one key, so one folder; each lists only its own.
    const app = await open('app');
    const app2 = await open('app2');
    await logIn('2x', B, app);
    await logIn('x', C, app2);
    await expect(names(folderOf('app2x'))).resolves.toHaveLength(2);
    await expect(sidsOf('2x', app, Date.now() + 2 * MINUTE)).resolves.toEqual([
      B,
    ]);
    await expect(sidsOf('x', app2, Date.now() + 2 * MINUTE)).resolves.toEqual([
      C,
    ]);
    await expect(names(folderOf('app2x'))).resolves.toHaveLength(2);
  });

  it('prunes at once an entry whose session expired, one whose session is gone after the write grace, and not one whose session is being written', async () => {
    await logIn('ann', A);
    await logIn('ann', B);
    await logIn('ann', C);
    await mtimeIn(join(dir, nameOf(`session:${A}`)), -1);
    // B's session ended without its entry (a crash between the two), and D's is not written yet.
    await realFs.unlink(join(dir, nameOf(`session:${B}`)));
    await backend.users.add('ann', D, device(), LIFETIME);
    const ann = folderOf('session:ann');
    const entryOf = (sid: string) => nameOf(`session:${sid}`);

    await expect(sidsOf('ann')).resolves.toEqual([C]);
    await expect(names(ann)).resolves.toEqual(
      [entryOf(B), entryOf(C), entryOf(D)].toSorted(),
    );
    await backend.create(D, session(), LIFETIME);
    await expect(sidsOf('ann')).resolves.toEqual([C, D].toSorted());

    await expect(
      sidsOf('ann', backend, Date.now() + WRITE_GRACE_MS + 1000),
    ).resolves.toEqual([C, D].toSorted());
    await expect(names(ann)).resolves.toEqual(
      [entryOf(C), entryOf(D)].toSorted(),
    );
  });

  it('prunes ended entries at some logins once a user has more than 16: a chance of four in n', async () => {
    const ended = Array.from({ length: 15 }, (_, i) => sessionId(`old${i}-`));
    for (const sid of ended) {
      await backend.users.add('ann', sid, device(), LIFETIME);
      await mtimeIn(
        join(folderOf('session:ann'), nameOf(`session:${sid}`)),
        -2 * MINUTE,
      );
    }
    // Indexes of the same folder whose draws fall just outside and just inside the chance.
    const unlucky = new FileUserIndex(dir, 'session:', () => 4 / 17);
    const lucky = new FileUserIndex(dir, 'session:', () => 3.9 / 18);
    await logInThrough(lucky, A);
    await expect(names(folderOf('session:ann'))).resolves.toHaveLength(16);
    await logInThrough(unlucky, B);
    await expect(names(folderOf('session:ann'))).resolves.toHaveLength(17);
    await logInThrough(lucky, C);
    await expect(names(folderOf('session:ann'))).resolves.toEqual(
      [A, B, C].map((sid) => nameOf(`session:${sid}`)).toSorted(),
    );
  });

  it('fails naming neither the user nor a file', async () => {
    await realFs.writeFile(folderOf('session:ann'), 'not a folder');
    const failure = backend.users.add('ann', A, device(), LIFETIME);
    await expect(failure).rejects.toMatchObject({
      name: 'SessionFileError',
      code: 'ENOTDIR',
    });
    const { message } = (await failure.catch((err: Error) => err)) as Error;
    expect(message).toMatch(/index add failed/);
    for (const secret of ['ann', b64('session:ann'), dir, A])
      expect(message).not.toContain(secret);
  });

  describe('the sweep', () => {
    it('removes entries of ended sessions and folders left empty; keeps live and pending ones', async () => {
      await logIn('ann', A);
      await logIn('ann', B);
      await logIn('ann', C);
      await logIn('bob', sessionId('bob'));
      await mtimeIn(join(dir, nameOf(`session:${B}`)), -1);
      await mtimeIn(join(dir, nameOf(`session:${sessionId('bob')}`)), -1);
      await realFs.unlink(join(dir, nameOf(`session:${C}`)));
      await backend.users.add('ann', D, device(), LIFETIME);
      const ann = folderOf('session:ann');
      await realFs.writeFile(join(ann, '.leftover.tmp'), '{}');
      const entryOf = (sid: string) => nameOf(`session:${sid}`);
      // Entries of sessions that expire were written a lifetime ago: older than the grace,
      // whether the sweep finds their session expired or already deleted.
      await mtimeIn(join(ann, entryOf(B)), -2 * MINUTE);
      await mtimeIn(
        join(folderOf('session:bob'), entryOf(sessionId('bob'))),
        -2 * MINUTE,
      );

      // B's and bob's sessions expired: they go, with their entries and bob's folder. C's entry
      // and D's are younger than the grace, and the temp file than a write.
      await expect(backend.removeExpired()).resolves.toBe(2);
      await expect(names(ann)).resolves.toEqual(
        ['.leftover.tmp', entryOf(A), entryOf(C), entryOf(D)].toSorted(),
      );
      await expect(realFs.stat(folderOf('session:bob'))).rejects.toMatchObject({
        code: 'ENOENT',
      });

      await expect(
        backend.removeExpired({}, Date.now() + WRITE_GRACE_MS + 1000),
      ).resolves.toBe(0);
      await expect(names(ann)).resolves.toEqual([entryOf(A)]);
      await backend.destroy(A);
      await backend.removeExpired({}, Date.now() + WRITE_GRACE_MS + 1000);
      await expect(names()).resolves.toEqual([]);
    });

    it('leaves alone a file that only looks like a user folder', async () => {
      await realFs.writeFile(folderOf('session:ann'), 'x');
      await expect(backend.removeExpired()).resolves.toBe(0);
      await expect(names()).resolves.toEqual([`.${b64('session:ann')}.user`]);
    });
  });

  it('a listing reads only its user’s entries: with 1000 users × 3 sessions stored, it costs what it does with 3', async () => {
    /** The calls a listing of user 500 makes, each path relative to the session folder. */
    const listingCalls = async (b: FileSessionBackend, directory: string) => {
      calls.length = 0;
      const listed = await b.users.list(userOf(500));
      expect(listed.map((entry) => entry.sid).toSorted()).toEqual(
        sidsOfUser(500).toSorted(),
      );
      return calls.map(({ call, path }) => ({
        call,
        path: path.slice(directory.length + 1),
      }));
    };

    const alone = join(root, 'alone');
    const small = await open('session:', alone);
    for (const sid of sidsOfUser(500)) await logIn(userOf(500), sid, small);
    const fewCalls = await listingCalls(small, alone);

    // Ten users at a time: each login syncs two files.
    for (let u = 0; u < 1000; u += 10)
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          for (const sid of sidsOfUser(u + i)) await logIn(userOf(u + i), sid);
        }),
      );
    await expect(backend.listing.count()).resolves.toBe(3000);
    const manyCalls = await listingCalls(backend, dir);

    const folder = `.${b64(`session:${userOf(500)}`)}.user`;
    const own = sidsOfUser(500).map((sid) => nameOf(`session:${sid}`));
    const allowed = [folder, ...own, ...own.map((name) => `${folder}/${name}`)];
    console.log(
      `listing 1 user of 1000 (3000 sessions): ${manyCalls.length} fs calls; of 1 user alone: ${fewCalls.length}`,
    );
    expect(manyCalls.length).toBe(fewCalls.length);
    expect(manyCalls.toSorted(byCallAndPath)).toEqual(
      fewCalls.toSorted(byCallAndPath),
    );
    for (const { path } of manyCalls) expect(allowed).toContain(path);
    // One readdir, of the user's folder; per session, its entry opened and its file stat-ed.
    expect(manyCalls.filter((c) => c.call === 'readdir')).toEqual([
      { call: 'readdir', path: folder },
    ]);
    expect(manyCalls).toHaveLength(1 + 2 * 3);
  }, 300_000);

  describe('other processes', () => {
    const children = storeChildren();
    afterEach(() => children.killAll());

    it('adding and removing entries of one user in several processes at once ends consistent', async () => {
      const ROUNDS = 150;
      const runs = ['p1-', 'p2-'].map((tag) =>
        children.run(
          'index-churn',
          dir,
          'session:',
          'ann',
          String(ROUNDS),
          tag,
        ),
      );
      // This process churns too, and lists and sweeps meanwhile (both prune and remove the
      // folder when they find it empty).
      const stop = new AbortController();
      const churn = (async () => {
        for (let i = 0; !stop.signal.aborted; i++) {
          const sid = sessionId(`p0-${String(i).padStart(4, '0')}`);
          await logIn('ann', sid);
          await backend.users.list('ann');
          await backend.destroy(sid);
          await backend.users.remove('ann', [sid]);
          await backend.removeExpired();
        }
      })();
      await Promise.all(runs.map((run) => run.exited));
      stop.abort();
      await churn;
      for (const run of runs) expect(run.exitCode()).toBe(0);

      const kept = ['p1-', 'p2-'].flatMap((tag) =>
        [0, 1, 2, 3, 4].map((i) => sessionId(`${tag}k${i}`)),
      );
      await expect(sidsOf('ann')).resolves.toEqual(kept.toSorted());
      await expect(names(folderOf('session:ann'))).resolves.toEqual(
        kept.map((sid) => nameOf(`session:${sid}`)).toSorted(),
      );
      await expect(backend.listing.count()).resolves.toBe(10);
      await expect(
        names().then((all) =>
          all.filter((name) => /\.(tmp|lock|brk)$/.test(name)),
        ),
      ).resolves.toEqual([]);
    }, 120_000);
  });
});

function byCallAndPath(
  a: { call: string; path: string },
  b: { call: string; path: string },
): number {
  return `${a.call} ${a.path}`.localeCompare(`${b.call} ${b.path}`);
}
