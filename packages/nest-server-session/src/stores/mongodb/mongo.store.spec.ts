import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Binary, MongoServerError, type Document } from 'mongodb';
import { createServer, type Socket } from 'node:net';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { ConsistentStore } from '../common/consistent-store.js';
import { createSessionCodec } from '../common/session-codec.js';
import {
  call,
  expiringSession,
  session,
  sessionId,
  sleep,
} from '../common/store.fixtures.js';
import type { SessionBackend } from '../store.contract.js';
import { FakeMongo, matches } from './fake-mongo.fixtures.js';
import {
  COLLECTION,
  connectMongoDoc,
  LIFETIME,
  LIVE,
  mongoOptions,
  notPrimary,
  USERS_COLLECTION,
} from './mongo-store.fixtures.js';
import { ownIdFilter } from './mongo-listing.js';
import { MongoStoreError } from './mongo-store.error.js';
import { createMongoBackend, createMongoClient } from './mongo.store.js';

const TTL = 600;
const SID = sessionId('abc');
const KEY = `session:${SID}`;

const secondsFromNow = (date: unknown) =>
  ((date as Date).getTime() - Date.now()) / 1000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('createMongoBackend', () => {
  let fake: FakeMongo;
  let backend: SessionBackend;
  const json = createSessionCodec('json');
  const msgpack = createSessionCodec('msgpack');
  const open = (
    overrides: Partial<ResolvedOptionsOf<'mongodb'>> = {},
    codec = json,
  ) => createMongoBackend(mongoOptions(overrides), codec, fake.asClient());

  beforeEach(async () => {
    fake = new FakeMongo(COLLECTION);
    backend = await open();
  });

  afterEach(async () => {
    await backend.close();
  });

  describe('options', () => {
    it('uses the collection of the URL database, the users one beside it, and creates their indexes', async () => {
      await sleep(0);
      expect(fake.callsOf('db')).toContainEqual([undefined]);
      expect(fake.callsOf('collection')).toEqual([
        ['web_sessions'],
        ['web_sessions_users'],
      ]);
      expect(fake.callsOf('connect')).toHaveLength(1);
      expect(fake.callsOf('createIndex', COLLECTION)).toEqual([
        [{ expires: 1 }, { expireAfterSeconds: 0 }],
      ]);
      expect(fake.callsOf('createIndex', USERS_COLLECTION)).toEqual([
        [{ user: 1, prefix: 1 }],
      ]);
    });

    it('builds a client for the URL database whose calls give up after storeTimeoutMs', async () => {
      const client = createMongoClient(mongoOptions());
      expect(client.options.dbName).toBe('appdb');
      expect(client.db().databaseName).toBe('appdb');
      expect(client.options.serverSelectionTimeoutMS).toBe(300);
      expect(client.options.connectTimeoutMS).toBe(2000);
      await client.close();
    });

    it('is a backend of type mongodb whose ping runs the ping command', async () => {
      expect(backend.type).toBe('mongodb');
      await backend.ping();
      expect(fake.callsOf('command')).toEqual([[{ ping: 1 }]]);
    });
  });

  describe('create and load', () => {
    it('upserts _id = prefix + sid with the JSON session, its expiry and version 1', async () => {
      const data = session({ user: 'ann' });
      await expect(backend.create(SID, data, TTL)).resolves.toBe(1);
      expect(fake.callsOf('findOneAndUpdate')).toEqual([
        [
          { _id: KEY },
          {
            $set: { session: JSON.stringify(data), expires: expect.any(Date) },
            $inc: { version: 1 },
          },
          { upsert: true, returnDocument: 'after', projection: { version: 1 } },
        ],
      ]);
      const doc = fake.docs.get(KEY);
      expect(doc).toMatchObject({ session: JSON.stringify(data), version: 1 });
      expect(secondsFromNow(doc?.expires)).toBeCloseTo(TTL, -1);
      expect(fake.docs.has(SID)).toBe(false);
    });

    it('loads a live session with its version, reading only what it needs', async () => {
      const data = session({ user: 'ann' });
      await backend.create(SID, data, TTL);
      await expect(backend.load(SID)).resolves.toEqual({
        session: data,
        version: 1,
      });
      expect(fake.callsOf('findOne')).toEqual([
        [{ _id: KEY, ...LIVE }, { projection: { session: 1, version: 1 } }],
      ]);
      await expect(backend.load(sessionId('other'))).resolves.toBeNull();
    });

    it('moves the version on when it overwrites: a holder of the old one cannot write', async () => {
      const first = await backend.create(SID, session({ n: 1 }), TTL);
      await expect(backend.create(SID, session({ n: 2 }), TTL)).resolves.toBe(
        2,
      );
      const stale = await backend.replace(SID, first, session({ n: 3 }), TTL);
      expect(stale.status).toBe('conflict');
      expect((await backend.load(SID))?.session).toMatchObject({ n: 2 });
    });

    it('loads a document of the previous release (no version) at version 0', async () => {
      fake.put(connectMongoDoc(KEY));
      await expect(backend.load(SID)).resolves.toEqual({
        session: session({ old: true }),
        version: 0,
      });
    });

    it('stores msgpack as binary and reads it back', async () => {
      const packed = await open({}, msgpack);
      const data = session({ user: 'ann', roles: ['a', 'b'] });
      await packed.create(SID, data, TTL);
      const [, update] = fake.callsOf('findOneAndUpdate')[0] as Document[];
      expect(Buffer.isBuffer(update.$set.session)).toBe(true);
      expect(fake.docs.get(KEY)?.session).toBeInstanceOf(Binary);
      expect((await packed.load(SID))?.session).toEqual(data);
      await packed.close();
    });

    it('reads sessions written in the other format', async () => {
      const packed = await open({}, msgpack);
      const [j, m] = [sessionId('json'), sessionId('msgpack')];
      await backend.create(j, session({ user: 'json' }), TTL);
      await packed.create(m, session({ user: 'msgpack' }), TTL);
      expect((await packed.load(j))?.session).toEqual(
        session({ user: 'json' }),
      );
      expect((await backend.load(m))?.session).toEqual(
        session({ user: 'msgpack' }),
      );
      await packed.close();
    });

    it('loads an unreadable or expired document as no session', async () => {
      fake.put({ ...connectMongoDoc(KEY), session: 'not a session' });
      await expect(backend.load(SID)).resolves.toBeNull();
      fake.put(connectMongoDoc(KEY, session(), -1000));
      await expect(backend.load(SID)).resolves.toBeNull();
    });
  });

  describe('replace', () => {
    it('updates only the loaded version of a live session, without upsert', async () => {
      const version = await backend.create(SID, session({ n: 1 }), TTL);
      const data = session({ n: 2 });
      await expect(backend.replace(SID, version, data, TTL)).resolves.toEqual({
        status: 'replaced',
        version: 2,
      });
      expect(fake.callsOf('updateOne')).toEqual([
        [
          { _id: KEY, version: 1, ...LIVE },
          {
            $set: {
              session: JSON.stringify(data),
              expires: expect.any(Date),
              version: 2,
            },
          },
          undefined,
        ],
      ]);
      expect(fake.callsOf('findOne')).toHaveLength(0);
      await expect(backend.load(SID)).resolves.toEqual({
        session: data,
        version: 2,
      });
      expect(secondsFromNow(fake.docs.get(KEY)?.expires)).toBeCloseTo(TTL, -1);
    });

    it('reports a conflict with the current session when the version moved on, and writes nothing', async () => {
      const first = await backend.create(SID, session({ n: 1 }), TTL);
      await backend.replace(SID, first, session({ n: 2 }), TTL);
      const before = fake.docs.get(KEY);
      await expect(
        backend.replace(SID, first, session({ n: 3 }), TTL),
      ).resolves.toEqual({
        status: 'conflict',
        current: { session: session({ n: 2 }), version: 2 },
      });
      expect(fake.callsOf('findOne').at(-1)).toEqual([
        { _id: KEY, ...LIVE },
        { projection: { session: 1, version: 1 } },
      ]);
      expect(fake.docs.get(KEY)).toEqual(before);
    });

    it('reports a destroyed session gone and never re-creates it', async () => {
      const version = await backend.create(SID, session(), TTL);
      await backend.destroy(SID);
      await expect(
        backend.replace(SID, version, session({ n: 2 }), TTL),
      ).resolves.toEqual({ status: 'gone' });
      expect(fake.docs.size).toBe(0);
    });

    it('reports an expired session gone and leaves it expired', async () => {
      fake.put({ ...connectMongoDoc(KEY, session(), -1000), version: 3 });
      const before = fake.docs.get(KEY);
      await expect(backend.replace(SID, 3, session(), TTL)).resolves.toEqual({
        status: 'gone',
      });
      expect(fake.docs.get(KEY)).toEqual(before);
    });

    it('writes a document of the previous release from version 0, once', async () => {
      fake.put(connectMongoDoc(KEY));
      const loaded = await backend.load(SID);
      const outcome = await backend.replace(
        SID,
        loaded!.version,
        session(),
        TTL,
      );
      expect(outcome).toEqual({ status: 'replaced', version: 1 });
      const [filter] = fake.callsOf('updateOne')[0] as Document[];
      expect(filter).toEqual({
        _id: KEY,
        version: { $in: [null, 0] },
        ...LIVE,
      });
      expect(fake.docs.get(KEY)?.version).toBe(1);
      await expect(
        backend.replace(SID, loaded!.version, session({ late: 1 }), TTL),
      ).resolves.toMatchObject({ status: 'conflict' });
    });

    it('writes a document whose version is null (where $inc would fail) from version 0', async () => {
      fake.put({ ...connectMongoDoc(KEY), version: null });
      await expect(backend.load(SID)).resolves.toMatchObject({ version: 0 });
      await expect(backend.replace(SID, 0, session(), TTL)).resolves.toEqual({
        status: 'replaced',
        version: 1,
      });
    });

    it('of 20 concurrent replaces from one version, exactly one is written', async () => {
      const version = await backend.create(SID, session({ n: 0 }), TTL);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          backend.replace(SID, version, session({ n: i + 1 }), TTL),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'replaced')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'conflict')).toHaveLength(19);
    });
  });

  describe('touch and destroy', () => {
    it('touch moves the expiry of a live session only, and says it did', async () => {
      const version = await backend.create(SID, session({ n: 1 }), 5);
      const before = fake.docs.get(KEY);
      await expect(backend.touch(SID, TTL)).resolves.toBe(true);
      expect(fake.callsOf('updateOne')).toEqual([
        [
          { _id: KEY, ...LIVE },
          { $set: { expires: expect.any(Date) } },
          undefined,
        ],
      ]);
      const doc = fake.docs.get(KEY);
      expect(doc).toMatchObject({ session: before?.session, version });
      expect(secondsFromNow(doc?.expires)).toBeCloseTo(TTL, -1);
    });

    it('touch never revives a session: false when it is gone or expired', async () => {
      await expect(backend.touch(SID, TTL)).resolves.toBe(false);
      expect(fake.docs.size).toBe(0);
      fake.put(connectMongoDoc(KEY, session(), -1000));
      await expect(backend.touch(SID, TTL)).resolves.toBe(false);
      expect(secondsFromNow(fake.docs.get(KEY)?.expires)).toBeLessThan(0);
    });

    it('destroy deletes prefix + sid while live, and says whether it did', async () => {
      await backend.create(SID, session(), TTL);
      await expect(backend.destroy(SID)).resolves.toBe(true);
      await expect(backend.destroy(SID)).resolves.toBe(false);
      expect(fake.callsOf('deleteOne')).toEqual([
        [{ _id: KEY, ...LIVE }],
        [{ _id: KEY, ...LIVE }],
      ]);
      fake.put(connectMongoDoc(KEY, session(), -1000));
      await expect(backend.destroy(SID)).resolves.toBe(false);
    });
  });

  describe('behind the consistent store', () => {
    let store: ConsistentStore;
    beforeEach(() => {
      store = new ConsistentStore(backend, {
        timeoutMs: 1000,
        lifetime: LIFETIME,
      });
    });

    it('expires a browser-session cookie after the lifetime', async () => {
      await call((cb) => store.set(SID, session(), cb));
      const expires = fake.docs.get(KEY)?.expires as unknown;
      expect(expires).toBeInstanceOf(Date);
      expect(secondsFromNow(expires)).toBeCloseTo(LIFETIME, -1);
    });

    it('expires with the cookie when it expires sooner', async () => {
      await call((cb) => store.set(SID, expiringSession(60_000), cb));
      expect(secondsFromNow(fake.docs.get(KEY)?.expires)).toBeCloseTo(60, -1);
    });

    it('never keeps a session longer than the lifetime, yet stores its cookie unchanged', async () => {
      const data = expiringSession(10 * 24 * 3600 * 1000);
      await call((cb) => store.set(SID, data, cb));
      const doc = fake.docs.get(KEY);
      expect(secondsFromNow(doc?.expires)).toBeCloseTo(LIFETIME, -1);
      expect(json.decode(doc?.session as string)).toEqual(data);
    });

    it('deletes rather than stores a session whose cookie has expired', async () => {
      await call((cb) => store.set(SID, session(), cb));
      await call((cb) => store.set(SID, expiringSession(-1000), cb));
      expect(fake.docs.has(KEY)).toBe(false);
    });
  });

  describe('listing', () => {
    const own = sessionId('own');
    const foreign = sessionId('foreign');

    it('matches _id by the escaped prefix, anchored, and a session id to the very end', () => {
      expect(ownIdFilter('x:[ab]:')).toEqual({
        $regex: '^x:\\[ab\\]:[A-Za-z0-9_-]{32}(?![\\s\\S])',
      });
      expect(ownIdFilter('a.b*')).toEqual({
        $regex: '^a\\.b\\*[A-Za-z0-9_-]{32}(?![\\s\\S])',
      });
    });

    it.each([
      ['a shorter prefix of a longer one', 'app', ['app2', 'ap']],
      ['pattern characters', 'x:[ab]:', ['x:a:', 'x:b:']],
      ['a dot and a star', '.*', ['ab', '.', '']],
    ])(
      'count, ids and clear of %s take exactly prefix + id',
      async (_what, prefix, others) => {
        const mine = await open({ prefix });
        fake.put(connectMongoDoc(prefix + own));
        for (const other of others) fake.put(connectMongoDoc(other + foreign));
        // Under the prefix but no session id: another key, a short id, a trailing newline.
        for (const id of ['user:alice', 'short', `${own}\n`, `${own}x`])
          fake.put(connectMongoDoc(prefix + id));
        await expect(mine.listing!.count()).resolves.toBe(1);
        const ids: string[] = [];
        for await (const page of mine.listing!.ids()) ids.push(...page);
        expect(ids).toEqual([own]);
        await expect(mine.listing!.clear()).resolves.toBe(1);
        expect(fake.docs.has(prefix + own)).toBe(false);
        expect(fake.docs.size).toBe(others.length + 4);
        await mine.close();
      },
    );

    it('pages ids in _id order, each page after the last id of the one before', async () => {
      const sids = Array.from({ length: 250 }, (_, i) => sessionId(`p${i}-`));
      for (const sid of sids) fake.put(connectMongoDoc(`session:${sid}`));
      const pages: string[][] = [];
      for await (const page of backend.listing!.ids(100)) pages.push(page);
      expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
      expect(pages.flat()).toEqual(sids.toSorted());
      const finds = fake.callsOf('find') as Document[][];
      const { $regex } = ownIdFilter('session:');
      expect(finds).toEqual([
        [
          { _id: { $regex }, ...LIVE },
          { projection: { _id: 1 }, sort: { _id: 1 }, limit: 100 },
        ],
        [
          { _id: { $regex, $gt: `session:${pages[0][99]}` }, ...LIVE },
          finds[1][1],
        ],
        [
          { _id: { $regex, $gt: `session:${pages[1][99]}` }, ...LIVE },
          finds[2][1],
        ],
      ]);
    });

    it('yields no empty last page when the sessions fill their pages', async () => {
      for (let i = 0; i < 4; i++)
        fake.put(connectMongoDoc(`session:${sessionId(`q${i}-`)}`));
      const pages: string[][] = [];
      for await (const page of backend.listing!.ids(2)) pages.push(page);
      expect(pages.map((page) => page.length)).toEqual([2, 2]);
    });

    it('leaves expired sessions out of ids and count, and clears them too', async () => {
      fake.put(connectMongoDoc(`session:${own}`));
      fake.put(connectMongoDoc(`session:${foreign}`, session(), -1000));
      const ids: string[] = [];
      for await (const page of backend.listing!.ids()) ids.push(...page);
      expect(ids).toEqual([own]);
      await expect(backend.listing!.count()).resolves.toBe(1);
      expect(fake.callsOf('countDocuments')).toEqual([
        [{ _id: ownIdFilter('session:'), ...LIVE }],
      ]);
      await expect(backend.listing!.clear()).resolves.toBe(2);
      expect(fake.callsOf('deleteMany')).toEqual([
        [{ _id: ownIdFilter('session:') }],
      ]);
    });

    it('loads many live sessions with one $in, leaving out absent, expired and unreadable ones', async () => {
      const [live, expired, bad] = ['live', 'expired', 'bad'].map(sessionId);
      fake.put(connectMongoDoc(`session:${live}`, session({ n: 1 })));
      fake.put(connectMongoDoc(`session:${expired}`, session(), -1000));
      fake.put({ ...connectMongoDoc(`session:${bad}`), session: 'garbage' });
      const found = await backend.listing!.loadMany([live, expired, bad, own]);
      expect([...found]).toEqual([[live, session({ n: 1 })]]);
      expect(fake.callsOf('find')).toEqual([
        [
          {
            _id: { $in: [live, expired, bad, own].map((s) => `session:${s}`) },
            ...LIVE,
          },
          { projection: { session: 1 } },
        ],
      ]);
      await expect(backend.listing!.loadMany([])).resolves.toEqual(new Map());
      expect(fake.callsOf('find')).toHaveLength(1);
    });
  });

  describe('errors', () => {
    it('tells a server error by its code, without the document it quotes', async () => {
      fake.failures.set(
        'findOneAndUpdate',
        new MongoServerError({
          message: `E11000 duplicate key error collection: appdb.web_sessions index: _id_ dup key: { _id: "${KEY}" }`,
          code: 11000,
          codeName: 'DuplicateKey',
          keyValue: { _id: KEY },
        }),
      );
      const error = (await backend
        .create(SID, session(), TTL)
        .catch((e: unknown) => e)) as MongoStoreError;
      expect(error).toBeInstanceOf(MongoStoreError);
      expect(error).toMatchObject({
        message: 'MongoDB create failed: DuplicateKey (code 11000)',
        code: 11000,
      });
      expect(
        JSON.stringify({ ...error, message: error.message }),
      ).not.toContain(SID);
      expect(error).not.toHaveProperty('cause');
    });

    it('names only the kind of an error that is not the driver’s', async () => {
      fake.failures.set('findOne', new TypeError(`bad value ${KEY}`));
      await expect(backend.load(SID)).rejects.toThrow(
        /^MongoDB load failed: TypeError$/,
      );
    });
  });

  describe('while MongoDB is down', () => {
    it('starts, fails calls, then connects again and creates the index', async () => {
      await backend.close();
      fake = new FakeMongo(COLLECTION);
      fake.failConnects = 2;
      backend = await open();
      await expect(backend.load(SID)).rejects.toThrow(/ECONNREFUSED/);
      await backend.create(SID, session({ n: 1 }), TTL);
      expect((await backend.load(SID))?.session).toEqual(session({ n: 1 }));
      expect(fake.callsOf('connect')).toHaveLength(3);
      expect(fake.callsOf('createIndex', COLLECTION)).toHaveLength(1);
      expect(fake.callsOf('createIndex', USERS_COLLECTION)).toHaveLength(1);
    });

    it('retries the index with every write until it exists', async () => {
      await backend.close();
      fake = new FakeMongo(COLLECTION);
      fake.failures.set(`${COLLECTION}.createIndex`, notPrimary());
      backend = await open();
      await sleep(0);
      expect(fake.callsOf('createIndex', COLLECTION)).toHaveLength(1);
      await backend.create(SID, session(), TTL);
      await backend.touch(SID, TTL);
      expect(fake.callsOf('createIndex', COLLECTION)).toHaveLength(2);
    });

    it('fails every call once closed, without connecting again', async () => {
      await backend.close();
      await expect(backend.load(SID)).rejects.toThrow(/closed/);
      await expect(backend.ping()).rejects.toThrow(/closed/);
      await expect(backend.listing!.count()).rejects.toThrow(/closed/);
      expect(fake.callsOf('close')).toHaveLength(1);
      expect(fake.callsOf('connect')).toHaveLength(1);
    });
  });
});

describe('the fake MongoDB', () => {
  it('matches $in: [null] on a missing field, as MongoDB does, and refuses operators it lacks', () => {
    expect(matches({ _id: 'a' }, { version: { $in: [null, 0] } })).toBe(true);
    expect(
      matches({ _id: 'a', version: 2 }, { version: { $in: [null, 0] } }),
    ).toBe(false);
    expect(() => matches({ _id: 'a' }, { $or: [] })).toThrow(/\$or/);
  });

  it('finds through an index, counting what it examines, and refuses a scan as notablescan does', async () => {
    const fake = new FakeMongo('c');
    const c = fake.in('c');
    for (const [id, user] of [
      ['1', 'a'],
      ['2', 'a'],
      ['3', 'b'],
    ])
      c.put({ _id: id, user, n: Number(id) });
    await c.driver.createIndex({ user: 1, n: 1 });
    await expect(
      c.driver.find({ n: { $gt: 1 }, user: 'a' }).toArray(),
    ).resolves.toEqual([{ _id: '2', user: 'a', n: 2 }]);
    expect(c.examined).toBe(2);
    await expect(
      c.driver.countDocuments({ _id: { $in: ['1', '3', '4'] } }),
    ).resolves.toBe(2);
    expect(c.examined).toBe(4);
    await expect(c.driver.countDocuments({ n: 1 })).rejects.toMatchObject({
      code: 291,
      codeName: 'NoQueryExecutionPlans',
    });
  });
});

describe('createMongoBackend with a real client and no server', () => {
  const TIMEOUT_MS = 300;
  const watched = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
  const openResources = () =>
    process.getActiveResourcesInfo().filter((r) => watched.includes(r));

  it('starts, fails each call within the timeout, dials again, and closes cleanly', async () => {
    const before = openResources().length;
    const port = await freePort();
    const options = mongoOptions({
      url: `mongodb://127.0.0.1:${port}/test`,
      storeTimeoutMs: TIMEOUT_MS,
    });
    const started = Date.now();
    const backend = await createMongoBackend(options, createSessionCodec());
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);

    const loadStarted = Date.now();
    await expect(backend.load(SID)).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - loadStarted).toBeLessThan(TIMEOUT_MS + 2000);
    await expect(backend.ping()).rejects.toThrow(/ECONNREFUSED/);

    // Not a MongoDB: a listener that only counts connections, to show that a failed first
    // connection does not leave the client refusing to dial (as driver 7 alone would).
    const sockets: Socket[] = [];
    const listener = createServer((socket) => {
      sockets.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) =>
      listener.listen(port, '127.0.0.1', resolve),
    );
    await expect(backend.load(SID)).rejects.toThrow(`127.0.0.1:${port}`);
    expect(sockets.length).toBeGreaterThan(0);
    await new Promise((resolve) => listener.close(resolve));

    await backend.close();
    await sleep(50);
    expect(openResources().length).toBeLessThanOrEqual(before);
  }, 15_000);
});
