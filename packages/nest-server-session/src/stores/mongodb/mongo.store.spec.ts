import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Binary, BSON, type Document, type MongoClient } from 'mongodb';
import { createServer, type Socket } from 'node:net';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { createMongoClient, createMongoStore } from './mongo.store.js';
import { createSessionCodec } from '../common/session-codec.js';
import type { SessionStoreHandle } from '../common/store-handle.js';
import {
  call,
  expiringSession,
  session,
  sleep,
} from '../common/store.fixtures.js';

const LIFETIME = 3600;

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

function mongoOptions(
  overrides: Partial<ResolvedOptionsOf<'mongodb'>> = {},
): ResolvedOptionsOf<'mongodb'> {
  return {
    type: 'mongodb',
    url: 'mongodb://127.0.0.1:27017/appdb',
    collectionName: 'web_sessions',
    prefix: 'session:',
    lifetime: LIFETIME,
    storeTimeoutMs: 300,
    ...overrides,
  } as ResolvedOptionsOf<'mongodb'>;
}

const idOf = ({ _id: id }: Document) => id as string;

/** Does `doc` match `filter`? Only the operators connect-mongo and our store send. */
function matches(doc: Document, filter: Document): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$or')
      return (cond as Document[]).some((sub) => matches(doc, sub));
    const value = doc[key] as unknown;
    if (typeof cond !== 'object' || cond === null || cond instanceof Date)
      return value === cond;
    const c = cond as Document;
    if ('$exists' in c) return (value !== undefined) === c.$exists;
    if ('$gt' in c) return value !== undefined && (value as Date) > c.$gt;
    if ('$regex' in c)
      return new RegExp(c.$regex as string).test(String(value));
    throw new Error(`fake cannot match ${JSON.stringify(cond)}`);
  });
}

/**
 * A stand-in for MongoClient, Db and Collection: records every call and keeps documents after
 * a BSON round trip, so they come back as the driver returns them (a Buffer as Binary).
 */
class FakeMongo {
  readonly calls: unknown[][] = [];
  readonly docs = new Map<string, Document>();
  /** Connection attempts that fail before one succeeds. */
  failConnects = 0;

  readonly collection = {
    createIndex: async (...args: unknown[]) => this.record('createIndex', args),
    findOne: async (filter: Document) => {
      this.record('findOne', [filter]);
      return this.matching(filter)[0] ?? null;
    },
    find: (filter: Document) => {
      this.record('find', [filter]);
      return this.matching(filter);
    },
    countDocuments: async (filter: Document) => {
      this.record('countDocuments', [filter]);
      return this.matching(filter).length;
    },
    updateOne: async (filter: Document, update: Document, opts?: Document) => {
      this.record('updateOne', [filter, update, opts]);
      const [found] = this.matching(filter);
      const upsert = !found && opts?.upsert === true;
      if (found || upsert)
        this.put({ _id: idOf(filter), ...found, ...update.$set });
      return { matchedCount: found ? 1 : 0, upsertedCount: upsert ? 1 : 0 };
    },
    deleteOne: async (filter: Document, opts?: Document) => {
      this.record('deleteOne', [filter, opts]);
      const [found] = this.matching(filter);
      if (found) this.docs.delete(idOf(found));
      return { deletedCount: found ? 1 : 0 };
    },
    deleteMany: async (filter: Document) => {
      this.record('deleteMany', [filter]);
      const found = this.matching(filter);
      found.forEach((doc) => this.docs.delete(idOf(doc)));
      return { deletedCount: found.length };
    },
  };

  readonly client = {
    connect: async () => {
      this.record('connect', []);
      if (this.failConnects-- > 0) throw new Error('connect ECONNREFUSED');
      return this.client;
    },
    close: async () => void this.record('close', []),
    db: (name?: string) => {
      this.record('db', [name]);
      return {
        collection: (collectionName: string) => {
          this.record('collection', [collectionName]);
          return this.collection;
        },
        command: async (command: Document) => {
          this.record('command', [command]);
          return { ok: 1 };
        },
      };
    },
  };

  asClient(): MongoClient {
    return this.client as unknown as MongoClient;
  }

  put(doc: Document): void {
    this.docs.set(idOf(doc), BSON.deserialize(BSON.serialize(doc)));
  }

  callsOf(name: string): unknown[][] {
    return this.calls.filter(([n]) => n === name).map(([, ...args]) => args);
  }

  private record(name: string, args: unknown[]): void {
    this.calls.push([name, ...args]);
  }

  private matching(filter: Document): Document[] {
    return [...this.docs.values()].filter((doc) => matches(doc, filter));
  }
}

describe('createMongoStore', () => {
  let fake: FakeMongo;
  let handle: SessionStoreHandle;
  const json = createSessionCodec('json');
  const msgpack = createSessionCodec('msgpack');
  const open = (
    overrides: Partial<ResolvedOptionsOf<'mongodb'>> = {},
    codec = json,
  ) => createMongoStore(mongoOptions(overrides), codec, fake.asClient());

  beforeEach(async () => {
    fake = new FakeMongo();
    handle = await open();
  });

  afterEach(async () => {
    await handle.close();
  });

  describe('options', () => {
    it('uses the collection of the URL database and creates the TTL index', async () => {
      await sleep(0);
      expect(fake.callsOf('db')).toContainEqual([undefined]);
      expect(fake.callsOf('collection')).toEqual(
        expect.arrayContaining([['web_sessions']]),
      );
      expect(fake.callsOf('collection')).not.toContainEqual(['sessions']);
      expect(fake.callsOf('connect')).toHaveLength(1);
      expect(fake.callsOf('createIndex')).toEqual([
        [{ expires: 1 }, { expireAfterSeconds: 0 }],
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

    it('is a handle of type mongodb whose ping runs the ping command', async () => {
      expect(handle.type).toBe('mongodb');
      await handle.ping();
      expect(fake.callsOf('command')).toEqual([[{ ping: 1 }]]);
    });
  });

  describe('set and get', () => {
    it('stores the session under _id = prefix + sid, as a JSON string', async () => {
      const data = session({ user: 'ann' });
      await call((cb) => handle.store.set('abc', data, cb));
      const doc = fake.docs.get('session:abc');
      expect(doc?.session).toBe(JSON.stringify(data));
      expect(fake.docs.has('abc')).toBe(false);
      await expect(call((cb) => handle.store.get('abc', cb))).resolves.toEqual(
        data,
      );
      expect(fake.callsOf('findOne')[0][0]).toMatchObject({
        _id: 'session:abc',
      });
    });

    it('expires a browser-session cookie after the lifetime', async () => {
      await call((cb) => handle.store.set('abc', session(), cb));
      const expires = fake.docs.get('session:abc')?.expires as unknown;
      expect(expires).toBeInstanceOf(Date);
      expect(secondsFromNow(expires)).toBeCloseTo(LIFETIME, -1);
    });

    it('expires with the cookie when it expires sooner', async () => {
      await call((cb) => handle.store.set('abc', expiringSession(60_000), cb));
      expect(secondsFromNow(fake.docs.get('session:abc')?.expires)).toBeCloseTo(
        60,
        -1,
      );
    });

    it('never keeps a session longer than the lifetime, yet stores its cookie unchanged', async () => {
      const data = expiringSession(10 * 24 * 3600 * 1000);
      await call((cb) => handle.store.set('abc', data, cb));
      const doc = fake.docs.get('session:abc');
      expect(secondsFromNow(doc?.expires)).toBeCloseTo(LIFETIME, -1);
      expect(json.decode(doc?.session as string)).toEqual(data);
    });

    it('deletes rather than stores a session whose cookie has expired', async () => {
      await call((cb) => handle.store.set('abc', session(), cb));
      await call((cb) => handle.store.set('abc', expiringSession(-1000), cb));
      expect(fake.docs.has('session:abc')).toBe(false);
    });

    it('stores msgpack as binary and reads it back', async () => {
      await handle.close();
      handle = await open({}, msgpack);
      const data = session({ user: 'ann', roles: ['a', 'b'] });
      await call((cb) => handle.store.set('abc', data, cb));
      const [, update] = fake.callsOf('updateOne')[0] as Document[];
      expect(Buffer.isBuffer(update.$set.session)).toBe(true);
      expect(fake.docs.get('session:abc')?.session).toBeInstanceOf(Binary);
      await expect(call((cb) => handle.store.get('abc', cb))).resolves.toEqual(
        data,
      );
    });

    it('reads sessions written in the other format', async () => {
      const fromJson = session({ user: 'json' });
      const fromMsgpack = session({ user: 'msgpack' });
      await call((cb) => handle.store.set('j', fromJson, cb));
      const packed = await open({}, msgpack);
      await call((cb) => packed.store.set('m', fromMsgpack, cb));
      await expect(call((cb) => packed.store.get('j', cb))).resolves.toEqual(
        fromJson,
      );
      await expect(call((cb) => handle.store.get('m', cb))).resolves.toEqual(
        fromMsgpack,
      );
      await packed.close();
    });

    it('loads an unreadable or expired document as no session', async () => {
      fake.put({ _id: 'session:bad', session: 'not a session' });
      fake.put({
        _id: 'session:old',
        session: JSON.stringify(session()),
        expires: new Date(Date.now() - 1000),
      });
      await expect(call((cb) => handle.store.get('bad', cb))).resolves.toBe(
        null,
      );
      await expect(call((cb) => handle.store.get('old', cb))).resolves.toBe(
        null,
      );
    });
  });

  describe('touch and destroy', () => {
    it('touch refreshes the capped expiry only', async () => {
      fake.put({
        _id: 'session:abc',
        session: 'unchanged',
        expires: new Date(Date.now() + 5000),
      });
      const later = expiringSession(10 * 24 * 3600 * 1000, { user: 'x' });
      await call((cb) => handle.store.touch!('abc', later, cb));
      const [filter, update] = fake.callsOf('updateOne')[0] as Document[];
      expect(filter).toMatchObject({ _id: 'session:abc' });
      expect(Object.keys(update)).toEqual(['$set']);
      expect(Object.keys(update.$set as Document)).toEqual(['expires']);
      const doc = fake.docs.get('session:abc');
      expect(doc?.session).toBe('unchanged');
      expect(secondsFromNow(doc?.expires)).toBeCloseTo(LIFETIME, -1);
    });

    it('touching a vanished session is no error and stores nothing', async () => {
      await expect(
        call((cb) => handle.store.touch!('gone', session(), cb)),
      ).resolves.toBeUndefined();
      expect(fake.docs.size).toBe(0);
    });

    it('destroy deletes prefix + sid', async () => {
      await call((cb) => handle.store.set('abc', session(), cb));
      await call((cb) => handle.store.destroy('abc', cb));
      expect(fake.callsOf('deleteOne').map(([filter]) => filter)).toEqual([
        { _id: 'session:abc' },
      ]);
      expect(fake.docs.size).toBe(0);
    });
  });

  describe('all, length and clear', () => {
    const OWN = { _id: { $regex: '^a\\.b\\*' } };

    beforeEach(async () => {
      await handle.close();
      handle = await open({ prefix: 'a.b*' });
      const expiresIn = {
        'a.b*live': 60_000,
        'a.b*old': -1000,
        axbbforeign: 60_000,
        'other:foreign': 60_000,
      };
      for (const [id, ms] of Object.entries(expiresIn)) {
        fake.put({
          _id: id,
          session: JSON.stringify(session({ id })),
          expires: new Date(Date.now() + ms),
        });
      }
    });

    it('all returns the live sessions of this prefix, keyed by sid', async () => {
      const all = await call((cb) => handle.store.all!(cb));
      expect(all).toEqual({ live: session({ id: 'a.b*live' }) });
      expect(fake.callsOf('find')[0][0]).toMatchObject(OWN);
    });

    it('length counts the live sessions of this prefix', async () => {
      await expect(call((cb) => handle.store.length!(cb))).resolves.toBe(1);
      expect(fake.callsOf('countDocuments')[0][0]).toMatchObject(OWN);
    });

    it('clear deletes every session of this prefix and no other', async () => {
      await call((cb) => handle.store.clear!(cb));
      expect(fake.callsOf('deleteMany')).toEqual([[OWN]]);
      expect([...fake.docs.keys()].toSorted()).toEqual([
        'axbbforeign',
        'other:foreign',
      ]);
    });
  });

  describe('while MongoDB is down', () => {
    it('starts, fails calls, then connects again and creates the index', async () => {
      await handle.close();
      fake = new FakeMongo();
      fake.failConnects = 2;
      handle = await open();
      await expect(call((cb) => handle.store.get('abc', cb))).rejects.toThrow(
        /ECONNREFUSED/,
      );
      await call((cb) => handle.store.set('abc', session({ n: 1 }), cb));
      await expect(call((cb) => handle.store.get('abc', cb))).resolves.toEqual(
        session({ n: 1 }),
      );
      expect(fake.callsOf('connect')).toHaveLength(3);
      expect(fake.callsOf('createIndex')).toHaveLength(1);
    });

    it('fails every call once closed, without connecting again', async () => {
      await handle.close();
      await expect(call((cb) => handle.store.get('abc', cb))).rejects.toThrow(
        /closed/,
      );
      await expect(handle.ping()).rejects.toThrow(/closed/);
      expect(fake.callsOf('close')).toHaveLength(1);
      expect(fake.callsOf('connect')).toHaveLength(1);
    });
  });
});

describe('createMongoStore with a real client and no server', () => {
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
    const handle = await createMongoStore(options, createSessionCodec());
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);

    const getStarted = Date.now();
    await expect(call((cb) => handle.store.get('abc', cb))).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect(Date.now() - getStarted).toBeLessThan(TIMEOUT_MS + 2000);
    await expect(handle.ping()).rejects.toThrow(/ECONNREFUSED/);

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
    await expect(call((cb) => handle.store.get('abc', cb))).rejects.toThrow(
      `127.0.0.1:${port}`,
    );
    expect(sockets.length).toBeGreaterThan(0);
    await new Promise((resolve) => listener.close(resolve));

    await handle.close();
    await sleep(50);
    expect(openResources().length).toBeLessThanOrEqual(before);
  }, 15_000);
});
