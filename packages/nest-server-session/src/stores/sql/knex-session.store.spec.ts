import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { indexedColumns as indexedColumnsOf } from '../../../../../test/utils/sql-indexes.js';
import { ConsistentStore } from '../common/consistent-store.js';
import {
  call,
  expiringSession,
  session,
  sessionId,
  sleep,
} from '../common/store.fixtures.js';
import type { KnexSessionBackend } from './knex-session.store.js';
import { memoryDatabase, openBackend } from './sql.fixtures.js';
import { SWEEP_AFTER } from './sweep-after.js';

interface Row {
  sid: string;
  sess: string;
  expires_at: number;
  version: number;
}

const TABLE = 'sessions';
const LIFETIME = 3600;
const PREFIX = 'session:';

async function idsOf(listed: KnexSessionBackend): Promise<string[]> {
  const all: string[] = [];
  for await (const page of listed.listing.ids()) all.push(...page);
  return all.toSorted();
}

describe('KnexSessionBackend', () => {
  let db: Knex;
  let backend: KnexSessionBackend;

  const open = (prefix = PREFIX) => openBackend(db, TABLE, prefix);
  /** express-session's view of the backend: expiry from the cookie, writes by compare-and-set. */
  const guarded = (b = backend, lifetime = LIFETIME) =>
    new ConsistentStore(b, { timeoutMs: 1000, lifetime });
  const rows = () =>
    db<Row>(TABLE).select('sid', 'sess', 'expires_at').orderBy('sid');
  /** The columns of the session table's indexes (but the primary key's). */
  const indexedColumns = () => indexedColumnsOf(db, TABLE, 'better-sqlite3');
  /** A row's sweep_after. */
  const sweepAfterOf = async (sid: string) =>
    Number(
      (await db(TABLE).where('sid', sid).first(SWEEP_AFTER))?.[SWEEP_AFTER],
    );
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
    db = memoryDatabase();
    backend = await open();
  });

  afterEach(async () => {
    await db.destroy();
  });

  describe('the table', () => {
    it('has the sid, sess, expires_at, version and sweep_after columns', async () => {
      expect(await db.schema.hasTable(TABLE)).toBe(true);
      for (const column of [
        'sid',
        'sess',
        'expires_at',
        'version',
        SWEEP_AFTER,
      ]) {
        expect(await db.schema.hasColumn(TABLE, column)).toBe(true);
      }
    });

    it('is prepared again by another instance, keeping its rows', async () => {
      await backend.create('abc', session({ user: 'ann' }), LIFETIME);
      const again = await open();
      expect((await again.load('abc'))?.session).toMatchObject({
        user: 'ann',
      });
    });

    it('indexes sweep_after for the sweep, and not expires_at (which every touch moves)', async () => {
      await expect(indexedColumns()).resolves.toEqual([SWEEP_AFTER]);
    });

    it('gets the version and sweep_after columns when made by an earlier release, its sessions kept and its expiry index dropped', async () => {
      await db.schema.dropTable(TABLE);
      await db.schema.createTable(TABLE, (t) => {
        t.string('sid', 255).primary();
        t.binary('sess').notNullable();
        t.bigInteger('expires_at').notNullable().index();
      });
      await insertRow('session:old', Date.now() + 60_000, { user: 'ann' });
      const upgraded = await open();
      expect(await db.schema.hasColumn(TABLE, 'version')).toBe(true);
      await expect(indexedColumns()).resolves.toEqual([SWEEP_AFTER]);
      const loaded = await upgraded.load('old');
      expect(loaded).toEqual({ session: session({ user: 'ann' }), version: 0 });
      const outcome = await upgraded.replace(
        'old',
        loaded!.version,
        session({ user: 'bob' }),
        LIFETIME,
      );
      expect(outcome.status).toBe('replaced');
      expect((await upgraded.load('old'))?.session).toMatchObject({
        user: 'bob',
      });
    });
  });

  describe('create and load', () => {
    it('returns what was stored, with the version written', async () => {
      const version = await backend.create(
        'abc',
        session({ user: 'ann', n: 1 }),
        LIFETIME,
      );
      await expect(backend.load('abc')).resolves.toEqual({
        session: session({ user: 'ann', n: 1 }),
        version,
      });
    });

    it('returns null for an unknown id', async () => {
      await expect(backend.load('nope')).resolves.toBeNull();
    });

    it('prepares each statement once on a connection, not on every call', async () => {
      const pool = db.client as {
        acquireConnection(): Promise<{ prepare(sql: string): unknown }>;
        releaseConnection(connection: unknown): Promise<unknown>;
      };
      const connection = await pool.acquireConnection();
      await pool.releaseConnection(connection);
      const prepare = connection.prepare.bind(connection);
      const prepared: string[] = [];
      connection.prepare = (sql) => (prepared.push(sql), prepare(sql));
      for (let i = 0; i < 3; i++) {
        await backend.create('abc', session({ n: i }), LIFETIME);
        await backend.touch('abc', LIFETIME);
        await backend.load('abc');
      }
      expect(prepared).toHaveLength(3);
    });

    it('stores the row under prefix + id, expiring after the lifetime', async () => {
      const before = Date.now();
      await call((cb) => guarded().set('abc', session({ user: 'ann' }), cb));
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
      await call((cb) => guarded().set('abc', expiringSession(30_000), cb));
      const [row] = await rows();
      expect(Number(row.expires_at) - Date.now()).toBeGreaterThan(25_000);
      expect(Number(row.expires_at) - Date.now()).toBeLessThanOrEqual(31_000);
    });

    it('overwrites the row when created twice', async () => {
      await backend.create('abc', session({ n: 1 }), LIFETIME);
      await backend.create('abc', session({ n: 2 }), LIFETIME);
      expect(await rows()).toHaveLength(1);
      expect((await backend.load('abc'))?.session).toMatchObject({ n: 2 });
    });

    it('does not store a session whose cookie has already expired', async () => {
      await call((cb) => guarded().set('abc', expiringSession(-1000), cb));
      expect(await rows()).toEqual([]);
    });

    it('never loads an expired row', async () => {
      await insertRow('session:old', Date.now() - 1000, { user: 'ann' });
      await expect(backend.load('old')).resolves.toBeNull();
    });

    it('stops loading a session once its time has passed', async () => {
      await backend.create('abc', session(), 1);
      await expect(backend.load('abc')).resolves.not.toBeNull();
      await sleep(1100);
      await expect(backend.load('abc')).resolves.toBeNull();
    });
  });

  describe('replace', () => {
    it('writes onto the version read, and only onto it', async () => {
      const first = await backend.create('abc', session({ n: 1 }), LIFETIME);
      const outcome = await backend.replace(
        'abc',
        first,
        session({ n: 2 }),
        LIFETIME,
      );
      expect(outcome.status).toBe('replaced');
      const stale = await backend.replace(
        'abc',
        first,
        session({ n: 3 }),
        LIFETIME,
      );
      expect(stale).toEqual({
        status: 'conflict',
        current: {
          session: session({ n: 2 }),
          version: (outcome as { version: unknown }).version,
        },
      });
      expect((await backend.load('abc'))?.session).toMatchObject({ n: 2 });
    });

    it('writes nothing onto an expired or destroyed session', async () => {
      await insertRow('session:old', Date.now() - 1000, { n: 1 });
      await expect(
        backend.replace('old', 0, session({ n: 2 }), LIFETIME),
      ).resolves.toEqual({ status: 'gone' });
      expect(JSON.parse((await rows())[0].sess)).toMatchObject({ n: 1 });
      const version = await backend.create('abc', session(), LIFETIME);
      await backend.destroy('abc');
      await expect(
        backend.replace('abc', version, session({ n: 2 }), LIFETIME),
      ).resolves.toEqual({ status: 'gone' });
      await expect(backend.load('abc')).resolves.toBeNull();
    });

    it('deletes a stored session saved again with an expired cookie', async () => {
      const store = guarded();
      await call((cb) => store.set('abc', session(), cb));
      await call((cb) => store.set('abc', expiringSession(-1000), cb));
      expect(await rows()).toEqual([]);
    });
  });

  describe('touch', () => {
    it('moves the expiry forward without changing the data', async () => {
      await insertRow('session:abc', Date.now() + 5000, { user: 'ann' });
      await expect(backend.touch('abc', LIFETIME)).resolves.toBe(true);
      const [row] = await rows();
      expect(Number(row.expires_at) - Date.now()).toBeGreaterThan(
        (LIFETIME - 5) * 1000,
      );
      expect(JSON.parse(row.sess)).toMatchObject({ user: 'ann' });
    });

    it('does not revive an expired row', async () => {
      await insertRow('session:abc', Date.now() - 1000);
      await expect(backend.touch('abc', LIFETIME)).resolves.toBe(false);
      expect(Number((await rows())[0].expires_at)).toBeLessThan(Date.now());
      await expect(backend.load('abc')).resolves.toBeNull();
    });

    it('does not create a row', async () => {
      await expect(backend.touch('abc', LIFETIME)).resolves.toBe(false);
      expect(await rows()).toEqual([]);
    });

    it('sets sweep_after only when the expiry leaves its bucket (an hour here)', async () => {
      // SQLite runs an `UPDATE OF` trigger whenever the column is set, changed or not: as
      // often as it rewrites the column's index entry.
      await db.raw(`create table bucket_moves (n integer)`);
      await db.raw(
        `create trigger moved after update of ${SWEEP_AFTER} on ${TABLE} begin insert into bucket_moves values (1); end`,
      );
      const moves = async () => (await db('bucket_moves').select()).length;
      await backend.create('abc', session(), LIFETIME);
      const bucket = await sweepAfterOf('session:abc');
      const [{ expires_at: expiresAt }] = await rows();
      expect(bucket).toBe(Math.ceil(Number(expiresAt) / 3_600_000) * 3_600_000);
      await expect(backend.touch('abc', LIFETIME)).resolves.toBe(true);
      // Unless this ran across the end of an hour: then the bucket moved once.
      const moved = await moves();
      expect(await sweepAfterOf('session:abc')).toBe(
        moved === 0 ? bucket : bucket + 3_600_000,
      );
      await expect(backend.touch('abc', 3 * LIFETIME)).resolves.toBe(true);
      expect(await moves()).toBe(moved + 1);
      const [row] = await rows();
      expect(await sweepAfterOf('session:abc')).toBe(
        Math.ceil(Number(row.expires_at) / 3_600_000) * 3_600_000,
      );
    });
  });

  describe('destroy', () => {
    it('deletes the session and leaves others', async () => {
      await backend.create('a', session(), LIFETIME);
      await backend.create('b', session(), LIFETIME);
      await expect(backend.destroy('a')).resolves.toBe(true);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:b']);
    });

    it('succeeds for an unknown id, saying there was none', async () => {
      await expect(backend.destroy('nope')).resolves.toBe(false);
    });
  });

  describe('listing', () => {
    const a = sessionId('a');
    const b = sessionId('b');

    it('lists the live sessions by id, without the prefix', async () => {
      await backend.create(a, session({ n: 1 }), LIFETIME);
      await backend.create(b, session({ n: 2 }), LIFETIME);
      await insertRow(PREFIX + sessionId('expired'), Date.now() - 1000);
      expect(await idsOf(backend)).toEqual([a, b]);
      expect(await backend.listing.loadMany([a, b])).toEqual(
        new Map([
          [a, session({ n: 1 })],
          [b, session({ n: 2 })],
        ]),
      );
      await expect(backend.listing.count()).resolves.toBe(2);
      await expect(call((cb) => guarded().all(cb))).resolves.toEqual({
        [a]: session({ n: 1 }),
        [b]: session({ n: 2 }),
      });
    });

    it('is empty for an empty table', async () => {
      expect(await idsOf(backend)).toEqual([]);
      await expect(backend.listing.count()).resolves.toBe(0);
    });
  });

  describe('removeExpired', () => {
    it('deletes only expired rows, of every prefix, and returns how many', async () => {
      const now = Date.now();
      await insertRow('session:old1', now - 1000);
      await insertRow('other:old2', now - 1);
      await insertRow('session:live', now + 60_000);
      await expect(backend.removeExpired()).resolves.toBe(2);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:live']);
    });

    it('compares with the time of the sweep', async () => {
      const now = Date.now();
      await insertRow('session:a', now + 300);
      await insertRow('session:b', now + 60_000);
      await expect(backend.removeExpired()).resolves.toBe(0);
      await sleep(400);
      await expect(backend.removeExpired()).resolves.toBe(1);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:b']);
    });

    it('finds rows written without sweep_after (an earlier release), and gives the live ones theirs', async () => {
      const now = Date.now();
      await insertRow('session:old', now - 1000);
      await insertRow('session:live', now + 60_000);
      expect(await sweepAfterOf('session:live')).toBe(0);
      await expect(backend.removeExpired()).resolves.toBe(1);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:live']);
      expect(await sweepAfterOf('session:live')).toBe(now + 60_000);
    });

    it('settles such rows found by sid, not by walking every row that still holds 0', async () => {
      await insertRow('session:live', Date.now() + 60_000);
      const settles: { sql: string; bindings: unknown[] }[] = [];
      const record = (query: { sql: string; bindings: unknown[] }) => {
        if (query.sql.startsWith('update')) settles.push(query);
      };
      db.on('query', record);
      await backend.removeExpired();
      db.off('query', record);
      expect(settles).toHaveLength(2); // the batch that settled the row, then an empty one
      const plan = await db.raw<{ parent: number; detail: string }[]>(
        `explain query plan ${settles[0].sql}`,
        settles[0].bindings as Knex.RawBinding[],
      );
      // The outer UPDATE looks rows up by primary key; only the subquery reads sweep_after.
      const outer = plan.filter((step) => step.parent === 0);
      expect(outer[0].detail).toMatch(
        /^SEARCH \w+ USING (COVERING )?INDEX sqlite_autoindex_\w+ \(sid=\?\)/,
      );
      expect(outer[0].detail).not.toMatch(/sweep_after/);
    });

    it('deletes a session that expired a moment ago, in the bucket under way', async () => {
      await backend.create('a', session(), 0.3);
      await backend.create('b', session(), LIFETIME);
      await sleep(400);
      await expect(backend.removeExpired()).resolves.toBe(1);
      expect((await rows()).map((row) => row.sid)).toEqual(['session:b']);
    });

    it('returns 0 when nothing has expired', async () => {
      await backend.create('a', session(), LIFETIME);
      await expect(backend.removeExpired()).resolves.toBe(0);
      expect(await rows()).toHaveLength(1);
    });

    describe('with many expired rows', () => {
      const statements: string[] = [];
      const record = (query: { sql: string }) => statements.push(query.sql);

      beforeEach(async () => {
        const past = Date.now() - 60_000;
        for (let i = 0; i < 2500; i += 500)
          await db(TABLE).insert(
            Array.from({ length: 500 }, (_, j) => ({
              sid: `x:${i + j}`,
              sess: '{}',
              expires_at: past + i + j,
              [SWEEP_AFTER]: past + i + j,
            })),
          );
        statements.length = 0;
        db.on('query', record);
      });

      afterEach(() => {
        db.off('query', record);
      });

      it('deletes them in batches of batchSize, one statement each', async () => {
        await expect(backend.removeExpired({ batchSize: 1000 })).resolves.toBe(
          2500,
        );
        expect(
          statements.filter((sql) =>
            sql.startsWith(`delete from \`${TABLE}\` `),
          ),
        ).toHaveLength(3);
        expect(await rows()).toEqual([]);
      });

      it('stops between batches once aborted, with the count so far', async () => {
        const controller = new AbortController();
        const abortAfterDelete = (_: unknown, query: { sql: string }) => {
          if (query.sql.startsWith('delete')) controller.abort();
        };
        db.on('query-response', abortAfterDelete);
        await expect(
          backend.removeExpired({ batchSize: 1000, signal: controller.signal }),
        ).resolves.toBe(1000);
        db.off('query-response', abortAfterDelete);
        expect(await rows()).toHaveLength(1500);
      });

      it('says how many went when a later batch fails', async () => {
        // The last row to expire cannot be deleted: the second batch fails as a whole.
        await db.raw(
          `create trigger keep before delete on ${TABLE} when old.sid = 'x:2499' begin select raise(abort, 'kept'); end`,
        );
        const failure = await backend
          .removeExpired({ batchSize: 2000 })
          .catch((err: unknown) => err as Error);
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).message).toMatch(
          /^removed 2000 expired sessions, then a batch failed: database error \(SQLITE_CONSTRAINT/,
        );
        expect(await rows()).toHaveLength(500);
      });
    });
  });

  describe('prefixes on one table', () => {
    let colon: KnexSessionBackend;
    let underscore: KnexSessionBackend;
    const x = sessionId('x');
    const y = sessionId('y');

    beforeEach(async () => {
      colon = await open('a:');
      underscore = await open('a_');
      await colon.create(x, session({ owner: 'colon' }), LIFETIME);
      await colon.create(y, session({ owner: 'colon' }), LIFETIME);
      await underscore.create(x, session({ owner: 'underscore' }), LIFETIME);
    });

    it('keep the same id apart', async () => {
      expect((await colon.load(x))?.session).toMatchObject({ owner: 'colon' });
      expect((await underscore.load(x))?.session).toMatchObject({
        owner: 'underscore',
      });
    });

    it('count and list only their own sessions (`_` is no wildcard)', async () => {
      await expect(underscore.listing.count()).resolves.toBe(1);
      await expect(call((cb) => guarded(underscore).all(cb))).resolves.toEqual({
        [x]: session({ owner: 'underscore' }),
      });
      await expect(colon.listing.count()).resolves.toBe(2);
      await expect(call((cb) => guarded(colon).all(cb))).resolves.toEqual({
        [x]: session({ owner: 'colon' }),
        [y]: session({ owner: 'colon' }),
      });
    });

    it('clear only their own sessions, and say how many', async () => {
      await expect(underscore.listing.clear()).resolves.toBe(1);
      expect((await rows()).map((row) => row.sid)).toEqual([
        `a:${x}`,
        `a:${y}`,
      ]);
      await expect(colon.listing.clear()).resolves.toBe(2);
      expect(await rows()).toEqual([]);
    });

    it('destroy only their own session', async () => {
      await underscore.destroy(x);
      await expect(colon.load(x)).resolves.not.toBeNull();
    });

    it('treat `%` literally too', async () => {
      const percent = await open('a%');
      await expect(percent.listing.count()).resolves.toBe(0);
      await expect(percent.listing.clear()).resolves.toBe(0);
      expect(await rows()).toHaveLength(3);
    });

    it('do not take the sessions of a longer prefix (`a` is not `a:`)', async () => {
      const short = await open('a');
      await expect(short.listing.count()).resolves.toBe(0);
      await expect(short.listing.clear()).resolves.toBe(0);
      expect(await rows()).toHaveLength(3);
    });

    // SQL counts characters, JavaScript's length UTF-16 units: a prefix with a character
    // outside the BMP (2 units, 1 character) must still match its own rows.
    it('count their own sessions when the prefix has a character outside the BMP', async () => {
      const emoji = await open('🔑:');
      await emoji.create(x, session(), LIFETIME);
      await expect(emoji.listing.count()).resolves.toBe(1);
      await expect(call((cb) => guarded(emoji).ids(cb))).resolves.toEqual([x]);
    });
  });

  describe('errors', () => {
    it('reports a database error without the id or the session in it', async () => {
      const sid = sessionId('secret');
      await db.schema.dropTable(TABLE);
      const attempts: Promise<unknown>[] = [
        backend.load(sid),
        backend.create(sid, session({ user: 'ann' }), LIFETIME),
        backend.listing.count(),
      ];
      const failures = await Promise.all(
        attempts.map((work) =>
          work.then(
            () => new Error('did not fail'),
            (err: Error) => err,
          ),
        ),
      );
      for (const failure of failures) {
        expect(failure.message).toBe(
          'the session table does not exist (SQLITE_ERROR)',
        );
        expect(failure).toMatchObject({ code: 'SQLITE_ERROR' });
        expect(JSON.stringify(failure)).not.toContain(sid);
        expect(failure.stack).not.toContain(sid);
      }
    });
  });
});
