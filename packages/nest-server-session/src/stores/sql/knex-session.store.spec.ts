import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import knex, { type Knex } from 'knex';
import { KnexSessionStore } from './knex-session.store.js';
import { call, session, expiringSession } from '../common/store.fixtures.js';

interface Row {
  sid: string;
  sess: string;
  expires_at: number;
}

const TABLE = 'sessions';
const LIFETIME = 3600;

describe('KnexSessionStore', () => {
  let db: Knex;
  let store: KnexSessionStore;

  const rows = () =>
    db<Row>(TABLE).select('sid', 'sess', 'expires_at').orderBy('sid');
  const insertRow = (
    sid: string,
    expiresAt: number,
    data: Record<string, unknown> = {},
  ) =>
    db(TABLE).insert({
      sid,
      sess: JSON.stringify(session(data)),
      expires_at: expiresAt,
    });

  beforeEach(async () => {
    db = knex({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    store = new KnexSessionStore(db, TABLE, 'session:', LIFETIME);
    await store.createTable();
  });

  afterEach(async () => {
    await db.destroy();
  });

  describe('createTable', () => {
    it('creates the sid, sess and expires_at columns', async () => {
      expect(await db.schema.hasTable(TABLE)).toBe(true);
      for (const column of ['sid', 'sess', 'expires_at']) {
        expect(await db.schema.hasColumn(TABLE, column)).toBe(true);
      }
    });

    it('can run again on an existing table, keeping its rows', async () => {
      await call((cb) => store.set('abc', session({ user: 'ann' }), cb));
      await expect(store.createTable()).resolves.toBeUndefined();
      await expect(call((cb) => store.get('abc', cb))).resolves.toMatchObject({
        user: 'ann',
      });
    });

    it('indexes expires_at', async () => {
      const indexes = await db.raw<{ name: string }[]>(
        `pragma index_list(${TABLE})`,
      );
      const columns = await Promise.all(
        indexes.map((index) =>
          db.raw<{ name: string }[]>(`pragma index_info("${index.name}")`),
        ),
      );
      expect(columns.flat().map((column) => column.name)).toContain(
        'expires_at',
      );
    });
  });

  describe('set and get', () => {
    it('returns what was stored', async () => {
      await call((cb) => store.set('abc', session({ user: 'ann', n: 1 }), cb));
      await expect(call((cb) => store.get('abc', cb))).resolves.toEqual(
        session({ user: 'ann', n: 1 }),
      );
    });

    it('returns null for an unknown id', async () => {
      await expect(call((cb) => store.get('nope', cb))).resolves.toBeNull();
    });

    it('stores the row under prefix + id, expiring after the lifetime', async () => {
      const before = Date.now();
      await call((cb) => store.set('abc', session({ user: 'ann' }), cb));
      const [row] = await rows();
      expect(row.sid).toBe('session:abc');
      expect(JSON.parse(row.sess)).toEqual(session({ user: 'ann' }));
      expect(Number(row.expires_at)).toBeGreaterThanOrEqual(
        before + LIFETIME * 1000,
      );
      expect(Number(row.expires_at)).toBeLessThanOrEqual(
        Date.now() + LIFETIME * 1000,
      );
    });

    it('expires the row with the cookie when the cookie expires before the lifetime', async () => {
      await call((cb) => store.set('abc', expiringSession(30_000), cb));
      const [row] = await rows();
      expect(Number(row.expires_at) - Date.now()).toBeGreaterThan(25_000);
      expect(Number(row.expires_at) - Date.now()).toBeLessThanOrEqual(31_000);
    });

    it('updates the row when set twice', async () => {
      await call((cb) => store.set('abc', session({ n: 1 }), cb));
      await call((cb) => store.set('abc', session({ n: 2 }), cb));
      expect(await rows()).toHaveLength(1);
      await expect(call((cb) => store.get('abc', cb))).resolves.toMatchObject({
        n: 2,
      });
    });

    it('does not store a session whose cookie has already expired', async () => {
      await call((cb) => store.set('abc', expiringSession(-1000), cb));
      expect(await rows()).toEqual([]);
    });

    it('deletes a stored session set again with an expired cookie', async () => {
      await call((cb) => store.set('abc', session(), cb));
      await call((cb) => store.set('abc', expiringSession(-1000), cb));
      expect(await rows()).toEqual([]);
    });

    it('never loads an expired row', async () => {
      await insertRow('session:old', Date.now() - 1000, { user: 'ann' });
      await expect(call((cb) => store.get('old', cb))).resolves.toBeNull();
    });

    it('stops loading a session once its lifetime has passed', async () => {
      const shortLived = new KnexSessionStore(db, TABLE, 'session:', 1);
      await call((cb) => shortLived.set('abc', session(), cb));
      await expect(
        call((cb) => shortLived.get('abc', cb)),
      ).resolves.not.toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect(call((cb) => shortLived.get('abc', cb))).resolves.toBeNull();
    });
  });

  describe('touch', () => {
    it('moves the expiry forward without changing the data', async () => {
      await insertRow('session:abc', Date.now() + 5000, { user: 'ann' });
      await call((cb) => store.touch('abc', session({ user: 'ignored' }), cb));
      const [row] = await rows();
      expect(Number(row.expires_at) - Date.now()).toBeGreaterThan(
        (LIFETIME - 5) * 1000,
      );
      expect(JSON.parse(row.sess)).toMatchObject({ user: 'ann' });
    });

    it('does not revive an expired row', async () => {
      await insertRow('session:abc', Date.now() - 1000);
      await call((cb) => store.touch('abc', session(), cb));
      expect(Number((await rows())[0].expires_at)).toBeLessThan(Date.now());
      await expect(call((cb) => store.get('abc', cb))).resolves.toBeNull();
    });

    it('does not create a row', async () => {
      await call((cb) => store.touch('abc', session(), cb));
      expect(await rows()).toEqual([]);
    });
  });

  describe('destroy', () => {
    it('deletes the session and leaves others', async () => {
      await call((cb) => store.set('a', session(), cb));
      await call((cb) => store.set('b', session(), cb));
      await call((cb) => store.destroy('a', cb));
      expect((await rows()).map((row) => row.sid)).toEqual(['session:b']);
    });

    it('succeeds for an unknown id', async () => {
      await expect(
        call((cb) => store.destroy('nope', cb)),
      ).resolves.toBeUndefined();
    });
  });

  describe('all and length', () => {
    it('list the live sessions by id, without the prefix', async () => {
      await call((cb) => store.set('a', session({ n: 1 }), cb));
      await call((cb) => store.set('b', session({ n: 2 }), cb));
      await insertRow('session:expired', Date.now() - 1000);
      await expect(call((cb) => store.all(cb))).resolves.toEqual({
        a: session({ n: 1 }),
        b: session({ n: 2 }),
      });
      await expect(call((cb) => store.length(cb))).resolves.toBe(2);
    });

    it('are empty for an empty table', async () => {
      await expect(call((cb) => store.all(cb))).resolves.toEqual({});
      await expect(call((cb) => store.length(cb))).resolves.toBe(0);
    });
  });

  describe('removeExpired', () => {
    it('deletes only expired rows, of every prefix, and returns how many', async () => {
      const now = Date.now();
      await insertRow('session:old1', now - 1000);
      await insertRow('other:old2', now - 1);
      await insertRow('session:live', now + 60_000);
      await expect(store.removeExpired()).resolves.toBe(2);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:live']);
    });

    it('takes the time to compare with', async () => {
      const now = Date.now();
      await insertRow('session:a', now + 10_000);
      await insertRow('session:b', now + 20_000);
      await expect(store.removeExpired(now + 15_000)).resolves.toBe(1);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:b']);
    });

    it('returns 0 when nothing has expired', async () => {
      await call((cb) => store.set('a', session(), cb));
      await expect(store.removeExpired()).resolves.toBe(0);
      expect(await rows()).toHaveLength(1);
    });
  });

  describe('prefixes on one table', () => {
    let colon: KnexSessionStore;
    let underscore: KnexSessionStore;

    beforeEach(async () => {
      colon = new KnexSessionStore(db, TABLE, 'a:', LIFETIME);
      underscore = new KnexSessionStore(db, TABLE, 'a_', LIFETIME);
      await call((cb) => colon.set('x', session({ owner: 'colon' }), cb));
      await call((cb) => colon.set('y', session({ owner: 'colon' }), cb));
      await call((cb) =>
        underscore.set('x', session({ owner: 'underscore' }), cb),
      );
    });

    it('keep the same id apart', async () => {
      await expect(call((cb) => colon.get('x', cb))).resolves.toMatchObject({
        owner: 'colon',
      });
      await expect(
        call((cb) => underscore.get('x', cb)),
      ).resolves.toMatchObject({ owner: 'underscore' });
    });

    it('count and list only their own sessions (`_` is no wildcard)', async () => {
      await expect(call((cb) => underscore.length(cb))).resolves.toBe(1);
      await expect(call((cb) => underscore.all(cb))).resolves.toEqual({
        x: session({ owner: 'underscore' }),
      });
      await expect(call((cb) => colon.length(cb))).resolves.toBe(2);
      await expect(call((cb) => colon.all(cb))).resolves.toEqual({
        x: session({ owner: 'colon' }),
        y: session({ owner: 'colon' }),
      });
    });

    it('clear only their own sessions', async () => {
      await call((cb) => underscore.clear(cb));
      expect((await rows()).map((row) => row.sid)).toEqual(['a:x', 'a:y']);
      await call((cb) => colon.clear(cb));
      expect(await rows()).toEqual([]);
    });

    it('destroy only their own session', async () => {
      await call((cb) => underscore.destroy('x', cb));
      await expect(call((cb) => colon.get('x', cb))).resolves.not.toBeNull();
    });

    it('treat `%` literally too', async () => {
      const percent = new KnexSessionStore(db, TABLE, 'a%', LIFETIME);
      await expect(call((cb) => percent.length(cb))).resolves.toBe(0);
      await call((cb) => percent.clear(cb));
      expect(await rows()).toHaveLength(3);
    });

    // BUG: own() compares substr(sid, 1, prefix.length) with the prefix, but JS length counts
    // UTF-16 code units and SQLite's substr counts characters, so a prefix with a character
    // outside the BMP (here 2 units, 1 character) never matches its own rows.
    it('count their own sessions when the prefix has a character outside the BMP', async () => {
      const emoji = new KnexSessionStore(db, TABLE, '🔑:', LIFETIME);
      await call((cb) => emoji.set('x', session(), cb));
      await expect(call((cb) => emoji.length(cb))).resolves.toBe(1);
    });
  });

  describe('errors', () => {
    it('reports a database error through the callback', async () => {
      await db.schema.dropTable(TABLE);
      await expect(call((cb) => store.get('abc', cb))).rejects.toThrow(
        /no such table/,
      );
      await expect(
        call((cb) => store.set('abc', session(), cb)),
      ).rejects.toThrow(/no such table/);
      await expect(call((cb) => store.length(cb))).rejects.toThrow(
        /no such table/,
      );
    });
  });
});
