import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { ConsistentStore } from '../common/consistent-store.js';
import { createSessionCodec } from '../common/session-codec.js';
import { call, session, sessionId, sleep } from '../common/store.fixtures.js';
import type {
  SessionBackend,
  SessionDevice,
  UserSessionIndex,
} from '../store.contract.js';
import { FakeMongo } from './fake-mongo.fixtures.js';
import {
  COLLECTION,
  connectMongoDoc,
  LIFETIME,
  LIVE,
  mongoOptions,
  notPrimary,
  USERS_COLLECTION,
} from './mongo-store.fixtures.js';
import { createMongoBackend } from './mongo.store.js';

const TTL = 600;
const PREFIX = 'session:';
const DEVICE: SessionDevice = {
  createdAt: 1_700_000_000_000,
  userAgent: 'Mozilla/5.0 Firefox/127.0',
};
/** Older than the grace an entry gets for its session to be written. */
const LONG_AGO_MS = 61_000;
const [S1, S2, S3, S4, S5] = ['one', 'two', 'three', 'four', 'five'].map(
  (seed) => sessionId(seed),
);

const sids = (listed: { sid: string }[]) =>
  listed.map(({ sid }) => sid).toSorted();
const sidOf = (user: number, n: number) => sessionId(`u${user}s${n}-`);
const isWrite = (trailed: string) =>
  /\.(updateOne|findOneAndUpdate|deleteOne|deleteMany)$/.test(trailed);

/** An entry's `_id`, as the store makes it. */
const entryId = (user: string, sid: string, prefix = PREFIX) =>
  JSON.stringify([prefix, user, sid]);

describe('the per-user index of the MongoDB store', () => {
  let fake: FakeMongo;
  let backend: SessionBackend;
  let users: UserSessionIndex;
  const open = (overrides: Partial<ResolvedOptionsOf<'mongodb'>> = {}) =>
    createMongoBackend(
      mongoOptions(overrides),
      createSessionCodec('json'),
      fake.asClient(),
    );
  const entries = () => fake.in(USERS_COLLECTION);
  const sessions = () => fake.in(COLLECTION);
  /** Makes the entry look added `ms` ago, as if time had passed. */
  const age = (id: string, ms = LONG_AGO_MS) => {
    entries().docs.get(id)!.added = new Date(Date.now() - ms);
  };

  beforeEach(async () => {
    fake = new FakeMongo(COLLECTION);
    backend = await open();
    users = backend.users!;
    await sleep(0);
  });

  afterEach(async () => {
    await backend.close();
  });

  describe('add', () => {
    it('upserts one entry per user and session: prefix, user, session id, device, time added', async () => {
      fake.resetCalls();
      await users.add('ann', S1, DEVICE, TTL);
      const id = `["session:","ann","${S1}"]`;
      expect(fake.callsOf('updateOne', USERS_COLLECTION)).toEqual([
        [
          { _id: id },
          {
            $set: {
              prefix: PREFIX,
              user: 'ann',
              sid: S1,
              device: DEVICE,
              added: expect.any(Date),
            },
          },
          { upsert: true },
        ],
      ]);
      expect(fake.callsOf('countDocuments', USERS_COLLECTION)).toEqual([
        [{ user: 'ann', prefix: PREFIX }],
      ]);
      expect([...entries().docs.values()]).toEqual([
        {
          _id: id,
          prefix: PREFIX,
          user: 'ann',
          sid: S1,
          device: DEVICE,
          added: expect.any(Date),
        },
      ]);
      // The session document is the session's own create's to write.
      expect(fake.docs.size).toBe(0);
    });

    it('adding again keeps one entry, with the last device and time', async () => {
      await users.add('ann', S1, DEVICE, TTL);
      age(entryId('ann', S1));
      const again = { createdAt: 2, userAgent: 'Safari', ip: '10.0.0.1' };
      await users.add('ann', S1, again, TTL);
      expect(entries().docs.size).toBe(1);
      const entry = entries().docs.get(entryId('ann', S1));
      expect(entry?.device).toEqual(again);
      expect(Date.now() - (entry!.added as Date).getTime()).toBeLessThan(1000);
    });

    it('keeps users and apps apart whatever their names hold', async () => {
      const other = await open({ prefix: 'session:x' });
      const tricky = 'ann","session:';
      await users.add('ann', S1, DEVICE, TTL);
      await users.add(tricky, S1, DEVICE, TTL);
      await other.users!.add('ann', S1, DEVICE, TTL);
      await other.users!.add('bob', S2, DEVICE, TTL);
      expect(entries().docs.size).toBe(4);
      await backend.create(S1, session(), TTL);
      await other.create(S1, session(), TTL);
      await other.create(S2, session(), TTL);
      expect(sids(await users.list('ann'))).toEqual([S1]);
      expect(sids(await users.list(tricky))).toEqual([S1]);
      expect(sids(await users.list('bob'))).toEqual([]);
      expect(sids(await other.users!.list('ann'))).toEqual([S1]);
      expect(sids(await other.users!.list('bob'))).toEqual([S2]);
      await other.close();
    });

    it('prunes the ended sessions of a user who has gathered more than 16 entries', async () => {
      const ended = Array.from({ length: 16 }, (_, i) => sessionId(`e${i}-`));
      for (const sid of ended) await users.add('ann', sid, DEVICE, TTL);
      expect(fake.callsOf('find')).toEqual([]);
      ended.forEach((sid) => age(entryId('ann', sid)));
      await backend.create(S1, session(), TTL);
      await users.add('ann', S1, DEVICE, TTL);
      expect(fake.callsOf('find', USERS_COLLECTION)).toHaveLength(1);
      expect([...entries().docs.keys()]).toEqual([entryId('ann', S1)]);
    });
  });

  describe('list', () => {
    it('is one indexed query on the user and one $in read of the expiries, never of session data', async () => {
      for (const sid of [S1, S2]) {
        await users.add('ann', sid, DEVICE, TTL);
        await backend.create(sid, session({ username: 'ann' }), TTL);
      }
      await users.add('bob', S3, DEVICE, TTL);
      await backend.create(S3, session({ username: 'bob' }), TTL);
      fake.resetCalls();
      const listed = await users.list('ann');
      expect(listed.toSorted((a, b) => (a.sid < b.sid ? -1 : 1))).toEqual(
        [S1, S2].toSorted().map((sid) => ({
          sid,
          device: DEVICE,
          expiresAt: (fake.docs.get(PREFIX + sid)!.expires as Date).getTime(),
        })),
      );
      expect(fake.callsOf('find', USERS_COLLECTION)).toEqual([
        [
          { user: 'ann', prefix: PREFIX },
          { projection: { sid: 1, device: 1, added: 1 } },
        ],
      ]);
      expect(fake.callsOf('find', COLLECTION)).toEqual([
        [
          { _id: { $in: [PREFIX + S1, PREFIX + S2] }, ...LIVE },
          { projection: { expires: 1 } },
        ],
      ]);
      expect(fake.trail()).toEqual([
        `${USERS_COLLECTION}.find`,
        `${COLLECTION}.find`,
      ]);
    });

    it('reads nothing more for a user without sessions', async () => {
      fake.resetCalls();
      await expect(users.list('nobody')).resolves.toEqual([]);
      expect(fake.trail()).toEqual([`${USERS_COLLECTION}.find`]);
    });

    it('examines only that user’s documents among 1000 users × 3 sessions', async () => {
      for (let user = 0; user < 1000; user++)
        for (let n = 0; n < 3; n++) {
          const sid = sidOf(user, n);
          fake.put(connectMongoDoc(PREFIX + sid));
          entries().put({
            _id: entryId(`user${user}`, sid),
            prefix: PREFIX,
            user: `user${user}`,
            sid,
            device: DEVICE,
            added: new Date(),
          });
        }
      expect([fake.docs.size, entries().docs.size]).toEqual([3000, 3000]);
      fake.resetCalls();
      const listed = await users.list('user500');
      expect(sids(listed)).toEqual(
        [0, 1, 2].map((n) => sidOf(500, n)).toSorted(),
      );
      expect(entries().examined).toBe(3);
      expect(sessions().examined).toBe(3);
    });

    it('prunes entries of ended sessions once past the grace, keeping young ones whose session is not written yet', async () => {
      for (const sid of [S1, S2, S3, S4, S5])
        await users.add('ann', sid, DEVICE, TTL);
      await backend.create(S1, session(), TTL);
      await backend.create(S2, session(), TTL);
      await backend.destroy(S2);
      fake.put(connectMongoDoc(PREFIX + S3, session(), -1000));
      for (const sid of [S1, S2, S3, S5]) age(entryId('ann', sid));
      fake.resetCalls();
      expect(sids(await users.list('ann'))).toEqual([S1]);
      const deletes = fake.callsOf('deleteMany', USERS_COLLECTION);
      expect(deletes).toEqual([
        [
          {
            _id: { $in: [S2, S3, S5].map((sid) => entryId('ann', sid)) },
            added: { $lt: expect.any(Date) },
          },
        ],
      ]);
      const [[{ added }]] = deletes as [[{ added: { $lt: Date } }]];
      expect((Date.now() - added.$lt.getTime()) / 1000).toBeCloseTo(60, 0);
      expect([...entries().docs.keys()].toSorted()).toEqual(
        [S1, S4].map((sid) => entryId('ann', sid)).toSorted(),
      );
      // The young one's session is written after all: listed from then on.
      await backend.create(S4, session(), TTL);
      expect(sids(await users.list('ann'))).toEqual([S1, S4].toSorted());
    });

    it('leaves out at once a session that expired, though its entry is young', async () => {
      await users.add('ann', S1, DEVICE, TTL);
      fake.put(connectMongoDoc(PREFIX + S1, session(), -1000));
      await expect(users.list('ann')).resolves.toEqual([]);
      expect(entries().docs.size).toBe(1);
    });

    it('keeps an entry added again while it was being listed', async () => {
      await users.add('ann', S1, DEVICE, TTL);
      age(entryId('ann', S1));
      // Another instance logs the session in again between the read and the prune.
      fake.before.set(`${USERS_COLLECTION}.deleteMany`, () => {
        entries().docs.get(entryId('ann', S1))!.added = new Date();
      });
      await expect(users.list('ann')).resolves.toEqual([]);
      expect(fake.callsOf('deleteMany', USERS_COLLECTION)).toHaveLength(1);
      expect(entries().docs.has(entryId('ann', S1))).toBe(true);
    });
  });

  describe('remove', () => {
    it('deletes that user’s entries of those sessions by _id, in one call', async () => {
      await users.add('ann', S1, DEVICE, TTL);
      await users.add('ann', S2, DEVICE, TTL);
      await users.add('ann', S3, DEVICE, TTL);
      // Another user's entry of the same session (a login of another account on it).
      await users.add('bob', S1, DEVICE, TTL);
      fake.resetCalls();
      await users.remove('ann', [S1, S2]);
      expect(fake.callsOf('deleteMany', USERS_COLLECTION)).toEqual([
        [{ _id: { $in: [entryId('ann', S1), entryId('ann', S2)] } }],
      ]);
      expect([...entries().docs.keys()].toSorted()).toEqual(
        [entryId('ann', S3), entryId('bob', S1)].toSorted(),
      );
      await users.remove('ann', []);
      expect(fake.trail()).toHaveLength(1);
    });
  });

  describe('its index', () => {
    it('is retried before a listing or a login when it could not be made at start', async () => {
      await backend.close();
      fake = new FakeMongo(COLLECTION);
      fake.failures.set(`${USERS_COLLECTION}.createIndex`, notPrimary());
      backend = await open();
      await sleep(0);
      expect(entries().indexes).toEqual([]);
      await expect(backend.users!.list('ann')).resolves.toEqual([]);
      expect(entries().indexes).toEqual([{ user: 1, prefix: 1 }]);
      expect(fake.trail().slice(-2)).toEqual([
        `${USERS_COLLECTION}.createIndex`,
        `${USERS_COLLECTION}.find`,
      ]);
    });

    it('serves the listing: without it, a server with notablescan refuses it', async () => {
      entries().indexes.length = 0;
      await expect(users.list('ann')).rejects.toThrow(
        'MongoDB user index list failed: NoQueryExecutionPlans (code 291)',
      );
    });
  });

  describe('errors', () => {
    it('name neither the user nor the session', async () => {
      const id = entryId('ann@example.com', S1);
      fake.failures.set(
        `${USERS_COLLECTION}.updateOne`,
        new MongoServerError({
          message: `E11000 duplicate key error collection: appdb.${USERS_COLLECTION} index: _id_ dup key: { _id: ${JSON.stringify(id)} }`,
          code: 11000,
          codeName: 'DuplicateKey',
          keyValue: { _id: id },
        }),
      );
      const error = (await users
        .add('ann@example.com', S1, DEVICE, TTL)
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toBe(
        'MongoDB user index add failed: DuplicateKey (code 11000)',
      );
      const told = JSON.stringify({ ...error, message: error.message });
      expect(told).not.toContain(S1);
      expect(told).not.toContain('ann@');
      fake.failures.set('find', new MongoNetworkError('connection reset'));
      await expect(users.list('ann')).rejects.toThrow(
        'MongoDB user index list failed: connection reset',
      );
    });
  });

  describe('behind the consistent store', () => {
    it('indexes a login before its session is written, and forgets it after the logout destroyed it', async () => {
      const store = new ConsistentStore(backend, {
        timeoutMs: 1000,
        lifetime: LIFETIME,
      });
      fake.resetCalls();
      await call((cb) => store.set(S1, session({ username: 'ann' }), cb));
      expect(fake.trail().filter(isWrite)).toEqual([
        `${USERS_COLLECTION}.updateOne`,
        `${COLLECTION}.findOneAndUpdate`,
      ]);
      const listed = await store.sessionsOf('ann');
      expect(listed).toEqual([
        {
          sid: S1,
          device: { createdAt: expect.any(Number) },
          expiresAt: (fake.docs.get(PREFIX + S1)!.expires as Date).getTime(),
        },
      ]);
      fake.resetCalls();
      await call((cb) => store.get(S1, cb));
      await call((cb) => store.destroy(S1, cb));
      expect(fake.trail().filter(isWrite)).toEqual([
        `${COLLECTION}.deleteOne`,
        `${USERS_COLLECTION}.deleteMany`,
      ]);
      await expect(store.sessionsOf('ann')).resolves.toEqual([]);
      expect(entries().docs.size).toBe(0);
    });
  });
});
