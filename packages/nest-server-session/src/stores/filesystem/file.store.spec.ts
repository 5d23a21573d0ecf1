import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { createFileStore, type FileSessionStore } from './file.store.js';
import {
  createSessionCodec,
  type SessionCodec,
} from '../common/session-codec.js';
import type { SessionStoreHandle } from '../common/store-handle.js';
import {
  call,
  expiringSession,
  session,
  sleep,
} from '../common/store.fixtures.js';

const LIFETIME = 3600;
const MINUTE = 60_000;

describe('FileSessionStore', () => {
  let root: string;
  let dir: string;
  let handle: SessionStoreHandle;
  let store: FileSessionStore;

  const open = async (
    prefix = 'session:',
    codec: SessionCodec = createSessionCodec(),
    directory = dir,
  ) => {
    const options = {
      type: 'filesystem',
      directory,
      prefix,
      lifetime: LIFETIME,
    };
    const opened = await createFileStore(
      options as ResolvedOptionsOf<'filesystem'>,
      codec,
    );
    return { handle: opened, store: opened.store as FileSessionStore };
  };
  const get = (sid: string, s = store) => call((cb) => s.get(sid, cb));
  const set = (sid: string, data: SessionData, s = store) =>
    call((cb) => s.set(sid, data, cb));
  const all = (s = store) =>
    call<Record<string, SessionData>>((cb) => s.all(cb));
  const fileOf = (key: string) =>
    join(dir, Buffer.from(key).toString('base64url') + '.session');
  const names = () => fs.readdir(dir);
  const temps = async () => (await names()).filter((n) => n.endsWith('.tmp'));
  /** Moves a session's expiry (its mtime) to `ms` from now, as time passing would. */
  const expireIn = (key: string, ms: number) =>
    fs.utimes(fileOf(key), new Date(), new Date(Date.now() + ms));

  beforeEach(async () => {
    root = await fs.mkdtemp(join(tmpdir(), 'file-store-'));
    dir = join(root, 'var', 'sessions');
    ({ handle, store } = await open());
  });

  afterEach(async () => {
    await handle.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('set, get and destroy', () => {
    it('returns what was stored, and null for an unknown id', async () => {
      await set('abc', session({ user: 'ann', n: 1 }));
      await expect(get('abc')).resolves.toEqual(session({ user: 'ann', n: 1 }));
      await expect(get('nope')).resolves.toBeNull();
    });

    it('overwrites a session', async () => {
      await set('abc', session({ n: 1 }));
      await set('abc', session({ n: 2 }));
      await expect(get('abc')).resolves.toMatchObject({ n: 2 });
    });

    it('destroys a session; destroying a missing one is fine', async () => {
      await set('abc', session());
      await call((cb) => store.destroy('abc', cb));
      await expect(get('abc')).resolves.toBeNull();
      await expect(names()).resolves.toEqual([]);
      await expect(
        call((cb) => store.destroy('abc', cb)),
      ).resolves.toBeUndefined();
    });

    it('keeps one file per session: base64url(prefix + id).session, mtime = expiry', async () => {
      const before = Date.now();
      await set('abc', session());
      await expect(names()).resolves.toEqual([
        Buffer.from('session:abc').toString('base64url') + '.session',
      ]);
      const { mtimeMs } = await fs.stat(fileOf('session:abc'));
      expect(mtimeMs).toBeGreaterThanOrEqual(before + LIFETIME * 1000 - 1000);
      expect(mtimeMs).toBeLessThanOrEqual(Date.now() + LIFETIME * 1000 + 1000);
    });

    it('loads an unreadable file as no session', async () => {
      await set('abc', session());
      await fs.writeFile(fileOf('session:abc'), 'not a session');
      await expireIn('session:abc', MINUTE);
      await expect(get('abc')).resolves.toBeNull();
    });

    it('stores a 100 KB session', async () => {
      const big = session({ blob: 'x'.repeat(100 * 1024) });
      await set('big', big);
      await expect(get('big')).resolves.toEqual(big);
    });

    it('round-trips msgpack, which a JSON store still reads', async () => {
      const packed = await open('session:', createSessionCodec('msgpack'));
      await set('abc', session({ user: 'ann' }), packed.store);
      const bytes = await fs.readFile(fileOf('session:abc'));
      expect(bytes[0]).not.toBe('{'.charCodeAt(0));
      await expect(get('abc', packed.store)).resolves.toEqual(
        session({ user: 'ann' }),
      );
      await expect(get('abc')).resolves.toEqual(session({ user: 'ann' }));
    });
  });

  describe('permissions', () => {
    it('creates the directory 0700 and session files 0600', async () => {
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
      await set('abc', session());
      expect((await fs.stat(fileOf('session:abc'))).mode & 0o777).toBe(0o600);
    });
  });

  describe('keys', () => {
    it('keeps any id inside the directory and lists it back', async () => {
      const ids = ['../../escape', 'a/b', '..', '.', 'ümlaut ✓', 'x\0y'];
      const unicode = await open('sessión:🔑/');
      for (const id of ids) await set(id, session({ id }), unicode.store);
      await expect(names()).resolves.toHaveLength(ids.length);
      await expect(fs.readdir(root)).resolves.toEqual(['var']);
      for (const id of ids)
        await expect(get(id, unicode.store)).resolves.toMatchObject({ id });
      const listed = await all(unicode.store);
      expect(Object.keys(listed ?? {}).toSorted()).toEqual([...ids].toSorted());
    });

    it('reports a key too long for a file name through the callback', async () => {
      await expect(set('x'.repeat(300), session())).rejects.toThrow(/too long/);
      await expect(get('x'.repeat(300))).rejects.toThrow(/too long/);
    });

    it('resolves a relative directory against the working directory', async () => {
      const relativeDir = relative(process.cwd(), join(root, 'rel'));
      const opened = await open('session:', createSessionCodec(), relativeDir);
      await set('abc', session(), opened.store);
      await expect(fs.readdir(join(root, 'rel'))).resolves.toHaveLength(1);
    });
  });

  describe('expiry', () => {
    it('stops returning a session when its cookie expires', async () => {
      await set('abc', expiringSession(1000));
      await expect(get('abc')).resolves.not.toBeNull();
      await sleep(1100);
      await expect(get('abc')).resolves.toBeNull();
      await expect(all()).resolves.toEqual({});
      await expect(call((cb) => store.length(cb))).resolves.toBe(0);
    });

    it('deletes the session when saved with an expired cookie', async () => {
      await set('abc', session());
      await set('abc', expiringSession(-1000));
      await expect(names()).resolves.toEqual([]);
    });

    it('touch extends a live session', async () => {
      await set('abc', expiringSession(1000, { n: 1 }));
      await call((cb) => store.touch('abc', session(), cb));
      await sleep(1100);
      await expect(get('abc')).resolves.toMatchObject({ n: 1 });
      const { mtimeMs } = await fs.stat(fileOf('session:abc'));
      expect(mtimeMs).toBeGreaterThan(Date.now() + LIFETIME * 1000 - 5000);
    });

    it('touch never brings back a destroyed or expired session', async () => {
      await call((cb) => store.touch('missing', session(), cb));
      await set('gone', session());
      await call((cb) => store.destroy('gone', cb));
      await call((cb) => store.touch('gone', session(), cb));
      await set('old', session());
      await expireIn('session:old', -1000);
      await call((cb) => store.touch('old', session(), cb));
      await expect(get('old')).resolves.toBeNull();
      await expect(names()).resolves.toEqual([
        Buffer.from('session:old').toString('base64url') + '.session',
      ]);
    });
  });

  describe('removeExpired', () => {
    it('deletes expired sessions of every prefix and keeps live ones', async () => {
      const other = await open('other:');
      await set('live', session());
      await set('dead', session());
      await set('live', session(), other.store);
      await set('dead', session(), other.store);
      await expireIn('session:dead', -1);
      await expireIn('other:dead', -60_000);
      await expect(handle.removeExpired?.()).resolves.toBe(2);
      await expect(get('live')).resolves.not.toBeNull();
      await expect(get('live', other.store)).resolves.not.toBeNull();
      await expect(names()).resolves.toHaveLength(2);
      await expect(handle.removeExpired?.()).resolves.toBe(0);
    });

    it('never deletes a session rewritten while it sweeps', async () => {
      for (let i = 0; i < 20; i++) {
        await set('abc', session({ n: i }));
        await expireIn('session:abc', -1000);
        await Promise.all([
          store.removeExpired(),
          set('abc', session({ n: i + 1 })),
          store.removeExpired(),
        ]);
        await expect(get('abc')).resolves.toMatchObject({ n: i + 1 });
      }
      await expect(temps()).resolves.toEqual([]);
    });

    it('ignores other files in the directory', async () => {
      await fs.writeFile(join(dir, 'README'), 'x');
      await fs.writeFile(join(dir, 'not-base64!.session'), 'x');
      await fs.utimes(join(dir, 'README'), 0, 0);
      await expect(store.removeExpired()).resolves.toBe(0);
      await expect(names()).resolves.toHaveLength(2);
    });
  });

  describe('atomic writes', () => {
    it('leaves no temp files behind', async () => {
      for (let i = 0; i < 5; i++) await set(`s${i}`, session({ i }));
      await expect(temps()).resolves.toEqual([]);
    });

    it('ignores a stray temp file, and removes it only once stale', async () => {
      await set('abc', session({ n: 1 }));
      const stray = join(dir, '.leftover.tmp');
      await fs.writeFile(stray, JSON.stringify(session({ n: 2 })));
      await fs.utimes(stray, new Date(), new Date(Date.now() + MINUTE));
      await expect(get('abc')).resolves.toMatchObject({ n: 1 });
      await expect(all()).resolves.toEqual({ abc: session({ n: 1 }) });
      await expect(call((cb) => store.length(cb))).resolves.toBe(1);
      await expect(store.removeExpired()).resolves.toBe(0);
      await expect(temps()).resolves.toEqual(['.leftover.tmp']);
      // ctime cannot be set back, so the sweep is run "two minutes later" instead.
      await expect(store.removeExpired(Date.now() + 2 * MINUTE)).resolves.toBe(
        0,
      );
      await expect(temps()).resolves.toEqual([]);
      await expect(get('abc')).resolves.toMatchObject({ n: 1 });
    });

    it('50 concurrent writers to distinct sessions', async () => {
      const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
      await Promise.all(ids.map((id) => set(id, session({ id }))));
      for (const id of ids)
        await expect(get(id)).resolves.toMatchObject({ id });
      await expect(call((cb) => store.length(cb))).resolves.toBe(50);
      await expect(temps()).resolves.toEqual([]);
    });

    it('20 concurrent writes to one session leave one whole version', async () => {
      const pad = 'y'.repeat(50_000);
      const writes = Array.from({ length: 20 }, (_, n) =>
        set('abc', session({ n, pad })),
      );
      const reads = Array.from({ length: 20 }, () => get('abc'));
      await Promise.all(writes);
      const seen = (await Promise.all(reads)).filter((read) => read !== null);
      for (const read of seen) expect(read).toMatchObject({ pad });
      const final = await get('abc');
      expect(final).toMatchObject({ pad });
      expect((final as unknown as { n: number }).n).toBeLessThan(20);
      await expect(names()).resolves.toHaveLength(1);
    });
  });

  describe('prefix isolation', () => {
    it('all, length and clear see only their own prefix', async () => {
      const other = await open('other:');
      await set('a', session({ n: 1 }));
      await set('b', session({ n: 2 }));
      await set('a', session({ n: 3 }), other.store);
      await expect(all()).resolves.toEqual({
        a: session({ n: 1 }),
        b: session({ n: 2 }),
      });
      await expect(all(other.store)).resolves.toEqual({ a: session({ n: 3 }) });
      await expect(call((cb) => other.store.length(cb))).resolves.toBe(1);
      await call((cb) => store.clear(cb));
      await expect(all()).resolves.toEqual({});
      await expect(get('a', other.store)).resolves.toMatchObject({ n: 3 });
    });
  });

  describe('createFileStore', () => {
    it('returns a filesystem handle whose ping checks the directory', async () => {
      expect(handle.type).toBe('filesystem');
      await expect(handle.ping()).resolves.toBeUndefined();
      await fs.rm(dir, { recursive: true });
      await expect(handle.ping()).rejects.toThrow(/ENOENT/);
    });

    it('rejects a directory it cannot create, naming it and the reason', async () => {
      const file = join(root, 'plain-file');
      await fs.writeFile(file, '');
      const under = join(file, 'sessions');
      await expect(
        open('session:', createSessionCodec(), under),
      ).rejects.toThrow(
        `Session directory ${under} is unusable: ENOTDIR: not a directory`,
      );
      await expect(
        open('session:', createSessionCodec(), file),
      ).rejects.toThrow(file);
    });
  });
});
