import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Client } from 'memjs';
import { MemcachedServerProcess } from '../../../../../test/utils/memcached-server.js';
import { memcachedCounters } from '../../../../../test/utils/memcached-stats.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { createSessionCodec } from '../common/session-codec.js';
import { session, sleep } from '../common/store.fixtures.js';
import type { SessionBackend, UserSessionIndex } from '../store.contract.js';
import {
  MEMCACHED_MAX_KEY_BYTES,
  MEMCACHED_MAX_VALUE_BYTES,
} from './memcached-limits.js';
import { memcachedOptionsFor } from './memcached.fixtures.js';
import { createMemcachedBackend } from './memcached.store.js';
import {
  MAX_INDEXED_SESSIONS,
  userIndexKey,
  writeIndexItem,
  type IndexEntry,
} from './user-index-item.js';

const TTL = 3600;
const TIMEOUT_MS = 500;
const MAX_PREFIX = 'p'.repeat(MEMCACHED_MAX_KEY_BYTES - 32);

/** Entry `i` of a full item: the higher `i`, the later it expires. */
const entryOf = (i: number, userAgent = 'agent'): IndexEntry => ({
  sid: `sid-${String(i).padStart(5, '0')}`,
  device: { createdAt: 0, userAgent, ip: 'ffff:'.repeat(7) + 'ffff' },
  expiresAt: Date.now() + (i + 10) * 1000,
});

interface StoredItem {
  user: string;
  sessions: IndexEntry[];
}

/** The per-user index on a private memcached, read back with a plain client. */
describe('MemcachedUserIndex', () => {
  let server: MemcachedServerProcess;
  let inspector: Client;
  const backends: SessionBackend[] = [];
  let backend: SessionBackend;
  let users: UserSessionIndex;

  const open = async (
    overrides: Partial<ResolvedOptionsOf<'memcached'>> = {},
    address = server.address,
  ) => {
    const opened = await createMemcachedBackend(
      memcachedOptionsFor([address], {
        storeTimeoutMs: TIMEOUT_MS,
        ...overrides,
      }),
      createSessionCodec('json'),
    );
    backends.push(opened);
    return opened;
  };
  /** Logs `user` in on `sid` as the module does: index entry first, then the session. */
  const logIn = async (
    user: string,
    sid: string,
    { ttl = TTL, on = backend, userAgent = 'test-agent', createdAt = 0 } = {},
  ) => {
    const device = { createdAt: createdAt || Date.now(), userAgent };
    await on.users!.add(user, sid, device, ttl);
    return on.create(sid, session({ username: user }), ttl);
  };
  const listed = async (user: string, index = users) =>
    (await index.list(user)).map((entry) => entry.sid).toSorted();
  const item = async (user: string, prefix = 'test:') => {
    const { value } = await inspector.get(userIndexKey(prefix, user));
    return value && (JSON.parse(value.toString()) as StoredItem);
  };
  /** How much each memcached counter grew while `work` ran. */
  const countersOf = async (work: () => Promise<unknown>) => {
    const before = await memcachedCounters(inspector);
    await work();
    const after = await memcachedCounters(inspector);
    const grown = (name: string) => after[name] - before[name];
    return {
      gets: grown('cmd_get'),
      hits: grown('get_hits'),
      sets: grown('cmd_set'),
      touches: grown('cmd_touch'),
      deletes: grown('delete_hits') + grown('delete_misses'),
    };
  };

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
    server = await MemcachedServerProcess.start();
    inspector = Client.create(server.address, { logger: { log: () => {} } });
    backend = await open();
    users = backend.users!;
  });

  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    inspector?.close();
    await server?.stop();
    jest.restoreAllMocks();
  });

  it('lists a user’s sessions with their device and expiry, and forgets removed ones', async () => {
    await logIn('ann', 'ann-1', { userAgent: 'Firefox' });
    await logIn('ann', 'ann-2');
    await logIn('bob', 'bob-1');
    const entries = await users.list('ann');
    expect(entries.map((e) => e.sid).toSorted()).toEqual(['ann-1', 'ann-2']);
    const first = entries.find((e) => e.sid === 'ann-1')!;
    expect(first.device.userAgent).toBe('Firefox');
    expect(Math.abs(first.expiresAt! - (Date.now() + TTL * 1000))).toBeLessThan(
      5000,
    );
    await users.remove('ann', ['ann-1']);
    expect(await listed('ann')).toEqual(['ann-2']);
    expect(await listed('bob')).toEqual(['bob-1']);
    // The last one out deletes the item.
    await users.remove('ann', ['ann-2']);
    expect(await item('ann')).toBeNull();
    expect(await users.list('ann')).toEqual([]);
  });

  it('keys any user id validly, even under the longest prefix, and keeps the readable id inside', async () => {
    const long = await open({ prefix: MAX_PREFIX });
    const ids = [
      'x'.repeat(5000),
      'a user with spaces\r\nand a newline',
      'Zoë 日本語 🎉',
      '42',
    ];
    for (const [i, id] of ids.entries()) {
      await logIn(id, `long-${i}`, { on: long });
      const key = userIndexKey(MAX_PREFIX, id);
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(
        MEMCACHED_MAX_KEY_BYTES,
      );
      expect(key).not.toMatch(/\s/);
      expect((await item(id, MAX_PREFIX))?.user).toBe(id);
      expect(await listed(id, long.users)).toEqual([`long-${i}`]);
    }
    expect(new Set(ids.map((id) => userIndexKey('test:', id))).size).toBe(
      ids.length,
    );
  });

  it('lists only sessions still stored under that user, and prunes the others once settled', async () => {
    const anHourAgo = Date.now() - 3600_000;
    await logIn('cy', 'cy-live', { createdAt: anHourAgo });
    await logIn('cy', 'cy-destroyed', { createdAt: anHourAgo });
    await logIn('cy', 'cy-logged-out', { createdAt: anHourAgo });
    await backend.destroy('cy-destroyed');
    await backend.create('cy-logged-out', session({ username: 'dee' }), TTL);
    // Added, its session not written yet: a login under way.
    await users.add('cy', 'cy-arriving', { createdAt: Date.now() }, TTL);

    expect(await listed('cy')).toEqual(['cy-live']);
    const kept = (await item('cy'))!.sessions.map((e) => e.sid).toSorted();
    expect(kept).toEqual(['cy-arriving', 'cy-live']);
    await backend.create('cy-arriving', session({ username: 'cy' }), TTL);
    expect(await listed('cy')).toEqual(['cy-arriving', 'cy-live']);
  });

  it('drops a session that expired, and the item expires after its last session', async () => {
    await logIn('eve', 'eve-short', { ttl: 1 });
    expect(await listed('eve')).toEqual(['eve-short']);
    // memcached's clock ticks in whole seconds.
    await sleep(2200);
    expect(await users.list('eve')).toEqual([]);
    await sleep(1100);
    expect(await item('eve')).toBeNull();
  });

  it('keeps the item alive as long as a session that keeps being refreshed, and records its expiry', async () => {
    // Without a refresh the item would expire with the login's TTL: at 4 s, plus 1. memcached's
    // clock ticks in whole seconds, so a TTL of n may end after n - 1 s: the margins are seconds.
    await logIn('rae', 'rae-rolling', { ttl: 4 });
    await sleep(1000);
    await expect(backend.touch('rae-rolling', 5)).resolves.toBe(true);
    await sleep(1500);
    const outcome = await backend.replace(
      'rae-rolling',
      (await backend.load('rae-rolling'))!.version,
      session({ username: 'rae', n: 1 }),
      5,
    );
    expect(outcome.status).toBe('replaced');
    const refreshedAt = Date.now();
    // Past the login's item expiry (5 s), well before the refreshed session's (7.5 s).
    await sleep(3000);
    const [entry] = await users.list('rae');
    expect(entry?.sid).toBe('rae-rolling');
    expect(Math.abs(entry.expiresAt! - (refreshedAt + 5000))).toBeLessThan(500);
  }, 15_000);

  it('an evicted item is rebuilt by its sessions’ next write or refresh', async () => {
    await logIn('vic', 'vic-touched', { userAgent: 'Safari' });
    await logIn('vic', 'vic-written');
    await inspector.delete(userIndexKey('test:', 'vic'));
    // Until then the list misses them: with memcached, "end all" is best effort.
    expect(await users.list('vic')).toEqual([]);
    await backend.touch('vic-touched', TTL);
    const loaded = await backend.load('vic-written');
    await backend.replace(
      'vic-written',
      loaded!.version,
      session({ username: 'vic', n: 2 }),
      TTL,
    );
    const entries = await users.list('vic');
    expect(entries.map((e) => e.sid).toSorted()).toEqual([
      'vic-touched',
      'vic-written',
    ]);
    // What a session holds of its device: no browser, the time it was re-added.
    expect(entries[0].device.userAgent).toBeUndefined();
    expect(Math.abs(entries[0].device.createdAt - Date.now())).toBeLessThan(
      5000,
    );
  });

  it('rewrites an entry at most once per touchAfter, and reads it once per process within it', async () => {
    const lazy = await open({ touchAfter: 60 });
    await logIn('tia', 'tia-1', { on: lazy });
    // The process that added the entry knows its expiry: its touches and writes skip the item.
    const sameProcess = await countersOf(async () => {
      for (let i = 0; i < 3; i++) await lazy.touch('tia-1', TTL);
      const loaded = await lazy.load('tia-1');
      await lazy.replace(
        'tia-1',
        loaded!.version,
        session({ username: 'tia' }),
        TTL,
      );
    });
    // The load's GET and the write's SET; the touches count as touches: no read of the item.
    expect(sameProcess).toMatchObject({ gets: 1, sets: 1, touches: 3 });
    // Another process reads the item once, finds the entry fresh enough, and then knows it too.
    const other = await open({ touchAfter: 60 });
    const otherProcess = await countersOf(async () => {
      for (let i = 0; i < 3; i++) await other.touch('tia-1', TTL);
    });
    expect(otherProcess).toMatchObject({ gets: 1, sets: 0, touches: 3 });
    // With touchAfter 0 every refresh reads and rewrites the entry.
    const eager = await countersOf(() => backend.touch('tia-1', TTL));
    expect(eager).toMatchObject({ gets: 1, sets: 1, touches: 1 });
  });

  it('rebuilds an evicted item from a process that knew its entries once touchAfter has passed', async () => {
    const lazy = await open({ touchAfter: 1 });
    await logIn('eve', 'eve-1', { on: lazy });
    await inspector.delete(userIndexKey('test:', 'eve'));
    // Within touchAfter of the expiry it wrote, the process trusts it and skips the item.
    await lazy.touch('eve-1', TTL);
    expect(await listed('eve')).toEqual([]);
    await sleep(1100);
    await lazy.touch('eve-1', TTL);
    expect(await listed('eve')).toEqual(['eve-1']);
  });

  it('re-adds an entry removed and then refreshed in the same process', async () => {
    const lazy = await open({ touchAfter: 60 });
    await logIn('rex', 'rex-1', { on: lazy });
    await lazy.users!.remove('rex', ['rex-1']);
    expect(await listed('rex')).toEqual([]);
    await lazy.touch('rex-1', TTL);
    expect(await listed('rex')).toEqual(['rex-1']);
  });

  it('loses no entry to 20 concurrent logins from two processes, nor to removes racing with adds', async () => {
    // Two backends, as two app instances: each batches its own edits, and the two collide.
    const other = await open();
    const on = (i: number) => (i % 2 === 0 ? backend : other);
    const sids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    await Promise.all(sids.map((sid, i) => logIn('ray', sid, { on: on(i) })));
    expect(await listed('ray')).toEqual(sids.toSorted());

    const arriving = Array.from({ length: 10 }, (_, i) => `race-new-${i}`);
    await Promise.all([
      ...sids.slice(0, 10).map((sid, i) => on(i).users!.remove('ray', [sid])),
      ...arriving.map((sid, i) => logIn('ray', sid, { on: on(i + 1) })),
    ]);
    expect(await listed('ray')).toEqual(
      [...sids.slice(10), ...arriving].toSorted(),
    );
  });

  it('writes one user’s item about twice for 20 logins at once in one process, none of them lost', async () => {
    const sids = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    const before = await memcachedCounters(inspector);
    const counted = await countersOf(() =>
      Promise.all(sids.map((sid) => logIn('bea', sid))),
    );
    const after = await memcachedCounters(inspector);
    // 20 sessions and two writes of the item: the first login's, then the other 19 at once.
    expect(counted.sets).toBe(sids.length + 2);
    expect(after.cas_misses - before.cas_misses).toBe(0);
    expect(await listed('bea')).toEqual(sids.toSorted());
  });

  it('refuses an item of another user at its key (two ids sharing a digest) rather than mix them', async () => {
    await inspector.set(
      userIndexKey('test:', 'zed'),
      JSON.stringify({ user: 'not zed', sessions: [] }),
      { expires: 60 },
    );
    await expect(users.list('zed')).rejects.toThrow(/two user ids share a key/);
    await expect(
      users.add('zed', 'zed-1', { createdAt: Date.now() }, TTL),
    ).rejects.toThrow(/share a key/);
  });

  it('gives up on a stalled server within the deadline, and works once it answers', async () => {
    const stalled = await MemcachedServerProcess.start();
    try {
      const store = await open({}, stalled.address);
      await stalled.pause();
      const began = Date.now();
      await expect(store.users!.list('sam')).rejects.toThrow(/did not answer/);
      await expect(
        store.users!.add('sam', 'sam-1', { createdAt: Date.now() }, TTL),
      ).rejects.toThrow(/./);
      expect(Date.now() - began).toBeLessThan(2 * TIMEOUT_MS + 1000);
      stalled.resume();
      await logIn('sam', 'sam-1', { on: store });
      expect(await listed('sam', store.users)).toEqual(['sam-1']);
    } finally {
      await stalled.stop();
    }
  });

  describe('item size', () => {
    it(`keeps at most ${MAX_INDEXED_SESSIONS} entries, dropping the least recently refreshed`, () => {
      const entries = Array.from({ length: MAX_INDEXED_SESSIONS + 5 }, (_, i) =>
        entryOf(i),
      );
      const { value } = writeIndexItem('u', entries.toReversed(), 0);
      const kept = (JSON.parse(value.toString()) as StoredItem).sessions;
      expect(kept).toHaveLength(MAX_INDEXED_SESSIONS);
      expect(kept.map((e) => e.sid)).not.toContain('sid-00004');
      expect(kept.map((e) => e.sid)).toContain('sid-00005');
    });

    it('stays under the item limit with the largest devices, which memcached then takes', async () => {
      // Quotes take two bytes each in JSON: 1000 such entries would pass 1 MiB.
      const heavy = '"'.repeat(512);
      const entries = Array.from({ length: MAX_INDEXED_SESSIONS }, (_, i) =>
        entryOf(i, heavy),
      );
      const { value } = writeIndexItem('u'.repeat(1000), entries, 0);
      expect(value.length).toBeLessThanOrEqual(MEMCACHED_MAX_VALUE_BYTES);
      const kept = (JSON.parse(value.toString()) as StoredItem).sessions;
      expect(kept.length).toBeLessThan(MAX_INDEXED_SESSIONS);
      expect(kept[0].sid).toBe(`sid-00${MAX_INDEXED_SESSIONS - 1}`);
      const key = userIndexKey(MAX_PREFIX, 'u');
      await expect(inspector.set(key, value, { expires: 60 })).resolves.toBe(
        true,
      );
    });

    it('a login past the cap pushes out the least recently refreshed session', async () => {
      const full = Array.from({ length: MAX_INDEXED_SESSIONS }, (_, i) =>
        entryOf(i),
      );
      await inspector.set(
        userIndexKey('test:', 'max'),
        JSON.stringify({ user: 'max', sessions: full }),
        { expires: 60 },
      );
      await logIn('max', 'max-new', { ttl: TTL });
      const kept = (await item('max'))!.sessions.map((e) => e.sid);
      expect(kept).toHaveLength(MAX_INDEXED_SESSIONS);
      expect(kept).toContain('max-new');
      expect(kept).not.toContain('sid-00000');
    });
  });
});
