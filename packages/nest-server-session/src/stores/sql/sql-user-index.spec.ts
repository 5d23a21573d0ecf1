import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { session, sessionId, sleep } from '../common/store.fixtures.js';
import type { KnexSessionBackend } from './knex-session.store.js';
import { memoryDatabase, openBackend } from './sql.fixtures.js';
import { derivedName } from './sql-limits.js';
import { userKey } from './user-key.js';

const TABLE = 'sessions';
const USERS = 'sessions_users';
const LIFETIME = 3600;
const PREFIX = 'session:';
const device = (createdAt = 1000) => ({ createdAt, userAgent: 'Firefox' });

interface EntryRow {
  user_id: string;
  sid: string;
  expires_at: number;
}

describe('the SQL per-user index', () => {
  let db: Knex;
  let backend: KnexSessionBackend;

  const open = (prefix = PREFIX) => openBackend(db, TABLE, prefix);
  const entries = () =>
    db<EntryRow>(USERS)
      .select('user_id', 'sid', 'expires_at')
      .orderBy(['user_id', 'sid']);
  const sidsOf = async (user: string, b = backend) =>
    (await b.users!.list(user)).map((entry) => entry.sid).toSorted();
  /** A user's session as the module makes it: indexed first, then written. */
  const logIn = async (user: string, sid: string, b = backend) => {
    await b.users!.add(user, sid, device(), LIFETIME);
    await b.create(sid, session({ user }), LIFETIME);
  };

  beforeEach(async () => {
    db = memoryDatabase();
    backend = await open();
  });

  afterEach(async () => {
    await db.destroy();
  });

  describe('its table', () => {
    it('is made beside the session table, keyed by user then session, its expiry indexed', async () => {
      for (const column of ['user_id', 'sid', 'device', 'expires_at'])
        expect(await db.schema.hasColumn(USERS, column)).toBe(true);
      const indexes = await db.raw<{ name: string; origin: string }[]>(
        `select name, origin from pragma_index_list('${USERS}')`,
      );
      const primary = indexes.find((index) => index.origin === 'pk')!;
      const columns = await db.raw<{ name: string }[]>(
        `select name from pragma_index_info('${primary.name}') order by seqno`,
      );
      expect(columns.map((c) => c.name)).toEqual(['user_id', 'sid']);
      const expiry = indexes.find((index) => index.origin === 'c')!;
      expect(
        await db.raw(`select name from pragma_index_info('${expiry.name}')`),
      ).toEqual([{ name: 'expires_at' }]);
    });

    it('is added to a session table from an earlier release, whose sessions stay', async () => {
      await db.schema.dropTable(USERS);
      await backend.create(sessionId('kept'), session({ n: 1 }), LIFETIME);
      const upgraded = await open();
      expect(await db.schema.hasTable(USERS)).toBe(true);
      expect((await upgraded.load(sessionId('kept')))?.session).toEqual(
        session({ n: 1 }),
      );
      await logIn('ann', sessionId('a'), upgraded);
      expect(await sidsOf('ann', upgraded)).toEqual([sessionId('a')]);
    });

    it('gets names that fit in an identifier however long the table name', () => {
      const long = 'a'.repeat(63);
      const names = [
        derivedName(long, '_users'),
        derivedName(`${'a'.repeat(62)}b`, '_users'),
        derivedName(derivedName(long, '_users'), '_pkey'),
      ];
      for (const name of names) expect(name).toHaveLength(63);
      expect(new Set(names).size).toBe(3);
      expect(derivedName('sessions', '_users')).toBe('sessions_users');
    });
  });

  describe('list', () => {
    it('gives each live session of the user with its device and its expiry in the store', async () => {
      const before = Date.now();
      await logIn('ann', sessionId('a'));
      await logIn('ann', sessionId('b'));
      await logIn('bob', sessionId('c'));
      const listed = await backend.users!.list('ann');
      expect(listed.map((entry) => entry.sid).toSorted()).toEqual(
        [sessionId('a'), sessionId('b')].toSorted(),
      );
      for (const entry of listed) {
        expect(entry.device).toEqual(device());
        expect(entry.expiresAt).toBeGreaterThanOrEqual(
          before + LIFETIME * 1000,
        );
        expect(entry.expiresAt).toBeLessThanOrEqual(
          Date.now() + LIFETIME * 1000,
        );
      }
    });

    it('leaves out, and keeps, an entry whose session is not written yet', async () => {
      await backend.users!.add('ann', sessionId('a'), device(), LIFETIME);
      expect(await backend.users!.list('ann')).toEqual([]);
      await backend.create(sessionId('a'), session(), LIFETIME);
      expect(await sidsOf('ann')).toEqual([sessionId('a')]);
    });

    it('leaves out a session that expired or was destroyed, and deletes its entry once the entry expired too', async () => {
      await backend.users!.add('ann', sessionId('a'), device(), 1);
      await backend.create(sessionId('a'), session(), 1);
      await logIn('ann', sessionId('b'));
      await backend.destroy(sessionId('b'));
      await sleep(1100);
      expect(await backend.users!.list('ann')).toEqual([]);
      // The destroyed one's entry is kept its lifetime: it could have been a session not
      // written yet.
      expect((await entries()).map((row) => row.sid)).toEqual([
        PREFIX + sessionId('b'),
      ]);
    });

    it('keeps users apart by case and by trailing spaces', async () => {
      await logIn('bob', sessionId('a'));
      await logIn('Bob', sessionId('b'));
      await logIn('bob ', sessionId('c'));
      expect(await sidsOf('bob')).toEqual([sessionId('a')]);
      expect(await sidsOf('Bob')).toEqual([sessionId('b')]);
      expect(await sidsOf('bob ')).toEqual([sessionId('c')]);
    });

    it('keeps the users of two prefixes on one table apart', async () => {
      const other = await open('session_');
      await logIn('ann', sessionId('a'));
      await logIn('ann', sessionId('b'), other);
      expect(await sidsOf('ann')).toEqual([sessionId('a')]);
      expect(await sidsOf('ann', other)).toEqual([sessionId('b')]);
    });

    it('takes user ids the column cannot hold as they are, under a digest', async () => {
      const users = [
        'x'.repeat(300),
        'nul\0inside',
        'lone\ud800surrogate',
        'lone\udc00surrogate',
        userKey('x'.repeat(300)),
      ];
      for (const [i, user] of users.entries())
        await logIn(user, sessionId(`u${i}`));
      for (const [i, user] of users.entries())
        expect(await sidsOf(user)).toEqual([sessionId(`u${i}`)]);
      for (const row of await entries()) {
        expect(row.user_id).toMatch(/^#sha256:[0-9a-f]{64}$/);
      }
    });

    it('lists a session whose device cannot be read, so that it can still be ended', async () => {
      await logIn('ann', sessionId('a'));
      await db(USERS).update({ device: 'not json' });
      expect(await backend.users!.list('ann')).toMatchObject([
        { sid: sessionId('a'), device: { createdAt: 0 } },
      ]);
    });
  });

  describe('a login and a logout on SQLite (createOwned, destroyOwned)', () => {
    it('writes the session and its entry in one transaction', async () => {
      const sid = sessionId('owned');
      await backend.createOwned!(sid, session({ user: 'ann' }), LIFETIME, {
        userId: 'ann',
        device: device(),
      });
      expect(await sidsOf('ann')).toEqual([sid]);
      expect((await backend.load(sid))?.session).toMatchObject({ user: 'ann' });
    });

    it('deletes the session and its entry together (destroyOwned)', async () => {
      const sid = sessionId('owned');
      await backend.createOwned!(sid, session({ user: 'ann' }), LIFETIME, {
        userId: 'ann',
        device: device(),
      });
      expect(await backend.destroyOwned!(sid, 'ann')).toBe(true);
      expect(await sidsOf('ann')).toEqual([]);
      expect(await entries()).toEqual([]);
      expect(await backend.load(sid)).toBeNull();
      // Already gone: nothing removed, and no error.
      expect(await backend.destroyOwned!(sid, 'ann')).toBe(false);
    });

    it('writes neither when the entry cannot be written', async () => {
      await db.raw(
        `create trigger refuse_entries before insert on ${USERS} begin select raise(abort, 'refused'); end`,
      );
      const sid = sessionId('refused');
      await expect(
        backend.createOwned!(sid, session({ user: 'ann' }), LIFETIME, {
          userId: 'ann',
          device: device(),
        }),
      ).rejects.toThrow(/SQLITE_CONSTRAINT_TRIGGER/);
      expect(await backend.load(sid)).toBeNull();
      expect(await db(TABLE).count({ n: '*' })).toEqual([{ n: 0 }]);
    });
  });

  it('remove forgets only the named sessions of the user', async () => {
    await logIn('ann', sessionId('a'));
    await logIn('ann', sessionId('b'));
    await logIn('bob', sessionId('c'));
    await backend.users!.remove('ann', [sessionId('a'), sessionId('c')]);
    expect(await sidsOf('ann')).toEqual([sessionId('b')]);
    expect(await sidsOf('bob')).toEqual([sessionId('c')]);
  });

  describe('the sweep', () => {
    it('deletes the entries of ended sessions, and gives the others their session’s expiry', async () => {
      // Ended: destroyed without the index told, then the entry's own expiry passed.
      await backend.users!.add('ann', sessionId('ended'), device(), 0);
      // Live: refreshed past the entry's own expiry.
      await backend.users!.add('ann', sessionId('live'), device(), 0);
      await backend.create(sessionId('live'), session(), LIFETIME);
      // Not written yet: kept.
      await backend.users!.add('ann', sessionId('pending'), device(), LIFETIME);
      await sleep(5);
      await expect(backend.removeExpired()).resolves.toBe(0);
      const rows = await entries();
      expect(rows.map((row) => row.sid)).toEqual([
        PREFIX + sessionId('live'),
        PREFIX + sessionId('pending'),
      ]);
      const stored = await db(TABLE)
        .where('sid', PREFIX + sessionId('live'))
        .first<{ expires_at: number }>('expires_at');
      expect(rows[0].expires_at).toBe(stored.expires_at);
    });

    it('works in batches, one statement each', async () => {
      const past = Date.now() - 60_000;
      await db(USERS).insert(
        Array.from({ length: 450 }, (_, i) => ({
          user_id: `user${i % 150}`,
          sid: `${PREFIX}${i}`,
          device: '{}',
          expires_at: past,
        })),
      );
      const statements: string[] = [];
      const record = (query: { sql: string }) => statements.push(query.sql);
      db.on('query', record);
      try {
        await backend.removeExpired({ batchSize: 200 });
      } finally {
        db.off('query', record);
      }
      expect(
        statements.filter((sql) => sql.startsWith(`delete from \`${USERS}\``)),
      ).toHaveLength(3);
      expect(await entries()).toEqual([]);
    });
  });
});

describe('userKey', () => {
  it('is the user id itself when the column holds it', () => {
    for (const user of ['ann', '小明', '😀', 'a'.repeat(255), 'bob '])
      expect(userKey(user)).toBe(user);
  });

  it('is a digest otherwise, the same for the same id and apart for others', () => {
    const ids = [
      'a'.repeat(256),
      'b'.repeat(256),
      'x\0',
      'x\ud800',
      'x\udc00',
      '#sha256:abc',
    ];
    const keys = ids.map(userKey);
    for (const key of keys) expect(key).toMatch(/^#sha256:[0-9a-f]{64}$/);
    expect(new Set(keys).size).toBe(ids.length);
    expect(userKey('a'.repeat(256))).toBe(keys[0]);
  });
});
