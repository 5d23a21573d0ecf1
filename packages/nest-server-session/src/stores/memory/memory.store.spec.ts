import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { validateSessionOptions } from '../../options/session.options.js';
import { createMemoryBackend, MemorySessionBackend } from './memory.store.js';
import { ConsistentStore } from '../common/consistent-store.js';
import { createSessionCodec } from '../common/session-codec.js';
import {
  call,
  sleep,
  session,
  sessionId,
  expiringSession,
} from '../common/store.fixtures.js';

const LIFETIME = 3600;

/** The memory store as express-session sees it: behind the consistent store. */
function newStore(
  prefix = 'session:',
  lifetime = LIFETIME,
  maxSessions = 100,
): ConsistentStore {
  return new ConsistentStore(
    new MemorySessionBackend(
      prefix,
      lifetime,
      maxSessions,
      createSessionCodec(),
    ),
    { timeoutMs: 1000, lifetime },
  );
}

/** The keys the store keeps internally, to check the prefix is applied. */
function storedKeys(store: ConsistentStore): string[] {
  return [
    ...(
      store.backend as unknown as { cache: { keys(): Iterable<string> } }
    ).cache.keys(),
  ];
}

// Listings count only well-formed ids (prefix + 32 characters).
const [A, B, C, ABC] = ['a', 'b', 'c', 'abc'].map(sessionId);

describe('memory store (behind the consistent store)', () => {
  describe('set and get', () => {
    it('returns what was stored', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', session({ user: 'ann' }), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toEqual(
        session({ user: 'ann' }),
      );
    });

    it('returns null for an unknown id', async () => {
      await expect(
        call((cb) => newStore().get('nope', cb)),
      ).resolves.toBeNull();
    });

    it('overwrites a session set again', async () => {
      const store = newStore();
      await call((cb) => store.set(ABC, session({ n: 1 }), cb));
      await call((cb) => store.set(ABC, session({ n: 2 }), cb));
      await expect(call((cb) => store.get(ABC, cb))).resolves.toMatchObject({
        n: 2,
      });
      await expect(call((cb) => store.length(cb))).resolves.toBe(1);
    });

    it('stores a copy: changing the object after set does not change what get returns', async () => {
      const store = newStore();
      const sess = session({ user: 'ann', roles: ['reader'] });
      await call((cb) => store.set('abc', sess, cb));
      (sess as unknown as { user: string }).user = 'mallory';
      (sess as unknown as { roles: string[] }).roles.push('admin');
      await expect(call((cb) => store.get('abc', cb))).resolves.toMatchObject({
        user: 'ann',
        roles: ['reader'],
      });
    });

    it('returns a fresh copy on each get', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', session({ user: 'ann' }), cb));
      const first = (await call<SessionData | null>((cb) =>
        store.get('abc', cb),
      )) as unknown as { user: string };
      first.user = 'mallory';
      await expect(call((cb) => store.get('abc', cb))).resolves.toMatchObject({
        user: 'ann',
      });
    });

    it('does not store a session whose cookie has already expired', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', expiringSession(-1000), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
      await expect(call((cb) => store.length(cb))).resolves.toBe(0);
    });

    it('does not let an expired session take the place of a live one', async () => {
      const store = newStore('session:', LIFETIME, 2);
      await call((cb) => store.set('a', session(), cb));
      await call((cb) => store.set('b', session(), cb));
      await call((cb) => store.set('expired', expiringSession(-1000), cb));
      await expect(call((cb) => store.get('a', cb))).resolves.not.toBeNull();
      await expect(call((cb) => store.get('b', cb))).resolves.not.toBeNull();
    });

    it('removes a stored session when it is set again with an expired cookie', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', session(), cb));
      await call((cb) => store.set('abc', expiringSession(-1000), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
    });
  });

  describe('destroy', () => {
    it('removes the session and leaves others', async () => {
      const store = newStore();
      await call((cb) => store.set('a', session(), cb));
      await call((cb) => store.set('b', session(), cb));
      await call((cb) => store.destroy('a', cb));
      await expect(call((cb) => store.get('a', cb))).resolves.toBeNull();
      await expect(call((cb) => store.get('b', cb))).resolves.not.toBeNull();
    });

    it('succeeds for an unknown id', async () => {
      await expect(
        call((cb) => newStore().destroy('nope', cb)),
      ).resolves.toBeUndefined();
    });
  });

  describe('touch', () => {
    it('keeps the stored data: a refresh moves only the expiry', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', session({ user: 'ann' }), cb));
      const touched = expiringSession(60_000, { user: 'ignored' });
      await call((cb) => store.touch('abc', touched, cb));
      const stored = await call<SessionData | null>((cb) =>
        store.get('abc', cb),
      );
      expect(stored).toMatchObject({ user: 'ann' });
    });

    it('does not create a session that is not stored', async () => {
      const store = newStore();
      await call((cb) => store.touch('abc', session({ user: 'ann' }), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
    });

    it('removes the session when touched with an expired cookie', async () => {
      const store = newStore();
      await call((cb) => store.set('abc', session(), cb));
      await call((cb) => store.touch('abc', expiringSession(-1000), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
    });

    it('extends the TTL', async () => {
      const store = newStore('session:', 1);
      await call((cb) => store.set('abc', session(), cb));
      await sleep(700);
      await call((cb) => store.touch('abc', session(), cb));
      await sleep(700);
      await expect(call((cb) => store.get('abc', cb))).resolves.not.toBeNull();
    });
  });

  describe('all, length and clear', () => {
    it('lists every session by id, without the prefix', async () => {
      const store = newStore('app:');
      await call((cb) => store.set(A, session({ n: 1 }), cb));
      await call((cb) => store.set(B, session({ n: 2 }), cb));
      await expect(call((cb) => store.all(cb))).resolves.toEqual({
        [A]: session({ n: 1 }),
        [B]: session({ n: 2 }),
      });
      await expect(call((cb) => store.length(cb))).resolves.toBe(2);
    });

    it('keys every session as prefix + id', async () => {
      const store = newStore('app:');
      await call((cb) => store.set(A, session(), cb));
      await call((cb) => store.set(B, session(), cb));
      expect(storedKeys(store).toSorted()).toEqual(['app:' + A, 'app:' + B]);
    });

    it('clears every session', async () => {
      const store = newStore();
      await call((cb) => store.set(A, session(), cb));
      await call((cb) => store.set(B, session(), cb));
      await call((cb) => store.clear(cb));
      await expect(call((cb) => store.length(cb))).resolves.toBe(0);
      await expect(call((cb) => store.get(A, cb))).resolves.toBeNull();
    });

    it('is empty to begin with', async () => {
      await expect(call((cb) => newStore().all(cb))).resolves.toEqual({});
      await expect(call((cb) => newStore().length(cb))).resolves.toBe(0);
    });
  });

  describe('bounds', () => {
    it('keeps at most maxSessions, dropping the oldest', async () => {
      const store = newStore('session:', LIFETIME, 3);
      for (const sid of ['s1', 's2', 's3', 's4', 's5'].map(sessionId)) {
        await call((cb) => store.set(sid, session({ sid }), cb));
      }
      await expect(call((cb) => store.length(cb))).resolves.toBe(3);
      await expect(
        call((cb) => store.get(sessionId('s1'), cb)),
      ).resolves.toBeNull();
      await expect(
        call((cb) => store.get(sessionId('s2'), cb)),
      ).resolves.toBeNull();
      for (const sid of ['s3', 's4', 's5'].map(sessionId)) {
        await expect(call((cb) => store.get(sid, cb))).resolves.toMatchObject({
          sid,
        });
      }
    });

    it('drops the least recently used, not the first stored', async () => {
      const store = newStore('session:', LIFETIME, 3);
      for (const sid of ['s1', 's2', 's3'])
        await call((cb) => store.set(sid, session(), cb));
      await call((cb) => store.get('s1', cb));
      await call((cb) => store.set('s4', session(), cb));
      await expect(call((cb) => store.get('s1', cb))).resolves.not.toBeNull();
      await expect(call((cb) => store.get('s2', cb))).resolves.toBeNull();
    });

    it('expires a session after the lifetime', async () => {
      const store = newStore('session:', 1);
      await call((cb) => store.set('abc', session(), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.not.toBeNull();
      await sleep(1200);
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
      await expect(call((cb) => store.length(cb))).resolves.toBe(0);
    });

    it('expires a session when its cookie expires, before the lifetime', async () => {
      const store = newStore('session:', LIFETIME);
      await call((cb) => store.set('abc', expiringSession(900), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.not.toBeNull();
      await sleep(1200);
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
    });
  });
});

describe('createMemoryBackend', () => {
  it('builds the memory store from resolved options', async () => {
    const handle = createMemoryBackend(
      validateSessionOptions({
        type: 'memory',
        secret: 's',
        prefix: 'p:',
        maxSessions: 2,
      }) as Parameters<typeof createMemoryBackend>[0],
      createSessionCodec(),
    );
    expect(handle.type).toBe('memory');
    expect(handle).toBeInstanceOf(MemorySessionBackend);
    for (const sid of [A, B, C]) await handle.create(sid, session(), LIFETIME);
    const store = new ConsistentStore(handle, {
      timeoutMs: 1000,
      lifetime: LIFETIME,
    });
    expect(storedKeys(store).toSorted()).toEqual(['p:' + B, 'p:' + C]);
  });

  it('pings and closes without error', async () => {
    const handle = createMemoryBackend(
      validateSessionOptions({ type: 'memory', secret: 's' }) as Parameters<
        typeof createMemoryBackend
      >[0],
      createSessionCodec(),
    );
    await expect(handle.ping()).resolves.toBeUndefined();
    await expect(handle.close()).resolves.toBeUndefined();
  });
});
