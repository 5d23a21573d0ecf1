import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Cookie, Session, type SessionData } from 'express-session';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import { StoreUnavailableError } from '../../store-unavailable.error.js';
import { pingWithin } from '../index.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionListing,
  SessionVersion,
  UserSessionIndex,
} from '../store.contract.js';
import { ConsistentStore, type RequestSession } from './consistent-store.js';
import { call, sleep } from './store.fixtures.js';
import { TouchThrottle } from './touch-throttle.js';

type Callback<T = unknown> = (err?: unknown, value?: T) => void;

/** How the fake answers a call: `run` is what a working store would do. */
type Respond = <T>(operation: string, run: () => T) => Promise<T>;

const answer: Respond = (_operation, run) =>
  new Promise((resolve) => setImmediate(() => resolve(run())));
const hang: Respond = () => new Promise(() => {});
/** Answers, but only once the store deadline has passed. */
const afterTheDeadline: Respond = (_op, run) =>
  new Promise((resolve) => setTimeout(() => resolve(run()), TIMEOUT_MS + 30));
const failWith =
  (err: unknown): Respond =>
  () =>
    new Promise((_resolve, reject) => setImmediate(() => reject(err)));

/** A store kept in a Map, with a version per write, answering as `respond` says. */
class FakeBackend implements SessionBackend {
  readonly type = 'memory' as const;
  readonly sessions = new Map<string, { json: string; version: number }>();
  readonly calls: string[] = [];
  touches = 0;
  private lastVersion = 0;
  listing?: SessionListing;
  users?: UserSessionIndex;

  constructor(public respond: Respond = answer) {}

  withListing(): this {
    this.listing = {
      ids: async function* (this: void) {},
      loadMany: async () => new Map(),
      count: () => this.respond('count', () => this.sessions.size),
      clear: () =>
        this.respond('clear', () => {
          const n = this.sessions.size;
          this.sessions.clear();
          return n;
        }),
    };
    const sessions = this.sessions;
    const respond = () => this.respond;
    this.listing.ids = async function* () {
      yield await respond()('ids', () => [...sessions.keys()]);
    };
    this.listing.loadMany = (sids) =>
      this.respond(
        'loadMany',
        () =>
          new Map(
            sids.flatMap((sid) => {
              const stored = sessions.get(sid);
              return stored
                ? [[sid, JSON.parse(stored.json) as SessionData]]
                : [];
            }),
          ),
      );
    return this;
  }

  put(sid: string, data: Record<string, unknown>): number {
    const version = ++this.lastVersion;
    this.sessions.set(sid, {
      json: JSON.stringify({ cookie: cookieJson(), ...data }),
      version,
    });
    return version;
  }

  stored(sid: string): Record<string, unknown> | undefined {
    const entry = this.sessions.get(sid);
    return entry && (JSON.parse(entry.json) as Record<string, unknown>);
  }

  load(sid: string): Promise<LoadedSession | null> {
    this.calls.push('load');
    return this.respond('load', () => {
      const entry = this.sessions.get(sid);
      return entry
        ? {
            session: JSON.parse(entry.json) as SessionData,
            version: entry.version,
          }
        : null;
    });
  }

  create(sid: string, session: SessionData): Promise<SessionVersion> {
    this.calls.push('create');
    return this.respond('create', () => this.write(sid, session));
  }

  replace(
    sid: string,
    version: SessionVersion,
    session: SessionData,
  ): Promise<ReplaceOutcome> {
    this.calls.push('replace');
    return this.respond('replace', (): ReplaceOutcome => {
      const entry = this.sessions.get(sid);
      if (!entry) return { status: 'gone' };
      if (entry.version !== version) return { status: 'conflict' };
      return { status: 'replaced', version: this.write(sid, session) };
    });
  }

  touch(sid: string): Promise<boolean> {
    this.calls.push('touch');
    return this.respond('touch', () => {
      this.touches++;
      return this.sessions.has(sid);
    });
  }

  destroy(sid: string): Promise<boolean> {
    this.calls.push('destroy');
    return this.respond('destroy', () => this.sessions.delete(sid));
  }

  ping = () => Promise.resolve();
  close = () => Promise.resolve();

  private write(sid: string, session: SessionData): number {
    const version = ++this.lastVersion;
    this.sessions.set(sid, { json: JSON.stringify(session), version });
    return version;
  }
}

const TIMEOUT_MS = 50;
/** Listings and clears get a longer deadline of their own. */
const BULK_TIMEOUT_MS = 90;
const LIFETIME = 3600;

function cookieJson() {
  return { originalMaxAge: 60_000, path: '/', httpOnly: true };
}

function session(data: Record<string, unknown> = {}): SessionData {
  return { cookie: cookieJson(), ...data } as unknown as SessionData;
}

function newStore(backend: SessionBackend, throttle?: TouchThrottle) {
  const store = new ConsistentStore(backend, {
    timeoutMs: TIMEOUT_MS,
    bulkTimeoutMs: BULK_TIMEOUT_MS,
    lifetime: LIFETIME,
    throttle,
  });
  // What express-session assigns to every store it is given.
  store.generate = (req: Request) => {
    req.sessionID = `new-${Math.random().toString(36).slice(2)}`;
    const SessionClass = Session as unknown as new (
      req: Request,
      data: object,
    ) => RequestSession;
    req.session = new SessionClass(req, {});
    const CookieClass = Cookie as unknown as new (options: object) => Cookie;
    req.session.cookie = new CookieClass({ maxAge: 60_000 });
  };
  return store;
}

/** A request whose session was loaded through the store, as express-session does it. */
async function loadedRequest(
  store: ConsistentStore,
  sid: string,
): Promise<Request & { session: RequestSession }> {
  const req = { sessionID: sid, sessionStore: store } as unknown as Request;
  const data = await call<SessionData | null>((cb) => store.get(sid, cb));
  if (!data) throw new Error(`no session ${sid}`);
  store.createSession(req, data);
  return req as Request & { session: RequestSession };
}

/** The app's fields of a session (this package declares none). */
const data = (session: RequestSession) =>
  session as unknown as Record<string, unknown>;

const save = (session: RequestSession) =>
  new Promise<void>((resolve, reject) =>
    session.save((err) => (err ? reject(err as Error) : resolve())),
  );

/** Starts a callback-style call and resolves with what its callback got first. */
function outcome<T>(
  start: (cb: Callback<T>) => void,
): Promise<{ err: unknown; value: T | undefined }> {
  return new Promise((resolve) =>
    start((err, value) => resolve({ err, value })),
  );
}

describe('ConsistentStore', () => {
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    warn.mockRestore();
  });

  describe('calls that succeed', () => {
    it('passes get results through, and null for an unknown id', async () => {
      const backend = new FakeBackend();
      backend.put('abc', { user: 'ann' });
      const store = newStore(backend);
      await expect(
        outcome<SessionData | null>((cb) => store.get('abc', cb)),
      ).resolves.toEqual({ err: null, value: session({ user: 'ann' }) });
      await expect(outcome((cb) => store.get('missing', cb))).resolves.toEqual({
        err: null,
        value: null,
      });
    });

    it('creates a session it did not load, and destroys it', async () => {
      const backend = new FakeBackend();
      const store = newStore(backend);
      expect(
        (await outcome((cb) => store.set('abc', session({ n: 1 }), cb))).err,
      ).toBeNull();
      expect(backend.stored('abc')).toEqual(session({ n: 1 }));
      expect(backend.calls).toEqual(['create']);
      expect((await outcome((cb) => store.destroy('abc', cb))).err).toBeNull();
      expect(backend.sessions.has('abc')).toBe(false);
    });

    it('takes a session it created out of its user’s index when it is destroyed by id', async () => {
      const backend = new FakeBackend();
      const index: string[] = [];
      backend.users = {
        add: async (user, sid) => void index.push(`${user}/${sid}`),
        remove: async (user, sids) => {
          for (const sid of sids)
            index.splice(index.indexOf(`${user}/${sid}`), 1);
        },
        list: async () => [],
      };
      const store = newStore(backend);
      await outcome((cb) => store.set('abc', session({ username: 'ann' }), cb));
      expect(index).toEqual(['ann/abc']);
      // No request loaded it: only what the create remembered names its user.
      expect((await outcome((cb) => store.destroy('abc', cb))).err).toBeNull();
      await sleep(10);
      expect(index).toEqual([]);
    });

    it('writes a login in one call where the backend writes the session and its index entry together', async () => {
      const backend = new FakeBackend();
      const added: string[] = [];
      const owned: string[] = [];
      backend.users = {
        add: async (user, sid) => void added.push(`${user}/${sid}`),
        remove: async () => undefined,
        list: async () => [],
      };
      const owning = Object.assign(backend, {
        createOwned: async (
          sid: string,
          data: SessionData,
          _ttl: number,
          owner: { userId: string },
        ) => {
          owned.push(`${owner.userId}/${sid}`);
          return backend.create(sid, data);
        },
      });
      const store = newStore(owning);
      await outcome((cb) => store.set('abc', session({ username: 'ann' }), cb));
      expect(owned).toEqual(['ann/abc']);
      expect(added).toEqual([]);
      // A session without a user is no login: a plain create.
      await outcome((cb) => store.set('anon', session({ n: 1 }), cb));
      expect(owned).toEqual(['ann/abc']);
      expect(backend.stored('anon')).toEqual(session({ n: 1 }));
    });

    it('ends a session and its index entry in one call where the backend deletes them together', async () => {
      const backend = new FakeBackend();
      const removed: string[] = [];
      const ended: string[] = [];
      backend.users = {
        add: async () => undefined,
        remove: async (user, sids) => void removed.push(`${user}/${sids}`),
        list: async () => [],
      };
      const store = newStore(
        Object.assign(backend, {
          destroyOwned: async (sid: string, userId: string) => {
            ended.push(`${userId}/${sid}`);
            return backend.destroy(sid);
          },
        }),
      );
      await outcome((cb) => store.set('abc', session({ username: 'ann' }), cb));
      // By id: the user is the one this process remembers from the create.
      expect((await outcome((cb) => store.destroy('abc', cb))).err).toBeNull();
      expect(ended).toEqual(['ann/abc']);
      expect(backend.sessions.has('abc')).toBe(false);
      // A session of no user known here: a plain destroy.
      backend.put('anon', { n: 1 });
      expect((await outcome((cb) => store.destroy('anon', cb))).err).toBeNull();
      expect(ended).toEqual(['ann/abc']);
      expect(backend.sessions.has('anon')).toBe(false);
      await sleep(10);
      expect(removed).toEqual([]);
    });

    it('passes all, length, ids and clear through to the listing', async () => {
      const backend = new FakeBackend().withListing();
      backend.put('a', { n: 1 });
      backend.put('b', { n: 2 });
      const store = newStore(backend);
      expect(await outcome((cb) => store.length(cb))).toEqual({
        err: null,
        value: 2,
      });
      expect((await outcome((cb) => store.all(cb))).value).toEqual({
        a: session({ n: 1 }),
        b: session({ n: 2 }),
      });
      expect(await call<string[]>((cb) => store.ids(cb))).toEqual(['a', 'b']);
      expect((await outcome((cb) => store.clear(cb))).err).toBeNull();
      expect(backend.sessions.size).toBe(0);
    });
  });

  describe('timeouts', () => {
    const calls: [string, (store: ConsistentStore, cb: Callback) => void][] = [
      [
        'get',
        (store, cb) => store.get('abc', cb as Callback<SessionData | null>),
      ],
      ['set', (store, cb) => store.set('abc', session(), cb)],
      ['destroy', (store, cb) => store.destroy('abc', cb)],
      ['touch', (store, cb) => store.touch('abc', session(), cb)],
      ['all', (store, cb) => store.all(cb)],
      ['length', (store, cb) => store.length(cb as Callback<number>)],
      ['clear', (store, cb) => store.clear(cb)],
    ];

    it.each(calls)(
      'fails %s with a 503 after its deadline when the store never answers',
      async (operation, run) => {
        const deadline = ['all', 'length', 'clear'].includes(operation)
          ? BULK_TIMEOUT_MS
          : TIMEOUT_MS;
        const store = newStore(new FakeBackend(hang).withListing());
        const started = Date.now();
        const { err } = await outcome((cb) => run(store, cb));
        const elapsed = Date.now() - started;
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).getStatus()).toBe(503);
        expect((err as Error).message).toBe(
          `Session store unavailable: ${operation} timed out after ${deadline} ms`,
        );
        expect(elapsed).toBeGreaterThanOrEqual(deadline - 5);
        expect(elapsed).toBeLessThan(deadline + 500);
        expect(warn).toHaveBeenCalledWith(
          expect.stringContaining(`${operation} timed out`),
        );
      },
    );

    it('does not fail a call that answers in time', async () => {
      const slow: Respond = (_op, run) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(run()), TIMEOUT_MS / 2),
        );
      const store = newStore(new FakeBackend(slow));
      expect((await outcome((cb) => store.get('abc', cb))).err).toBeNull();
    });

    it('keeps no deadline for a backend whose calls settle in process, and still turns its errors into 503s', async () => {
      const inProcess = Object.assign(new FakeBackend(afterTheDeadline), {
        inProcess: true,
      });
      const store = newStore(inProcess);
      expect((await outcome((cb) => store.get('abc', cb))).err).toBeNull();
      const failing = newStore(
        Object.assign(new FakeBackend(failWith(new Error('boom'))), {
          inProcess: true,
        }),
      );
      const { err } = await outcome((cb) => failing.get('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toBe(
        'Session store unavailable: get failed',
      );
    });

    it('calls back once, with the timeout, when the answer comes too late', async () => {
      const late: Respond = (_op, run) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(run()), TIMEOUT_MS + 30),
        );
      const store = newStore(new FakeBackend(late));
      const cb = jest.fn<Callback>();
      store.get('abc', cb);
      await sleep(TIMEOUT_MS + 80);
      expect(cb).toHaveBeenCalledTimes(1);
      expect(cb.mock.calls[0][0]).toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe('errors', () => {
    it('answers a store error with a 503 naming the operation only, keeping the cause and logging it', async () => {
      const cause = new Error(
        'connection to 10.0.0.1 refused for key session:abc',
      );
      const store = newStore(new FakeBackend(failWith(cause)));
      const { err } = await outcome((cb) => store.get('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).getStatus()).toBe(503);
      expect((err as Error).message).toBe(
        'Session store unavailable: get failed',
      );
      expect((err as Error).cause).toBe(cause);
      expect(warn).toHaveBeenCalledWith(`get failed: ${cause.message}`);
    });

    it('wraps an error that is not an Error object', async () => {
      const store = newStore(new FakeBackend(failWith('ECONNRESET')));
      const { err } = await outcome((cb) => store.destroy('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toBe(
        'Session store unavailable: destroy failed',
      );
      expect((err as Error).cause).toBe('ECONNRESET');
    });

    it('wraps an error the store throws instead of rejecting', async () => {
      const thrown = new Error('sync failure');
      const backend = new FakeBackend();
      backend.load = () => {
        throw thrown;
      };
      const { err } = await outcome((cb) => newStore(backend).get('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).cause).toBe(thrown);
    });

    it('passes a StoreUnavailableError from the store on unchanged', async () => {
      const original = new StoreUnavailableError('get', 'inner reason');
      const store = newStore(new FakeBackend(failWith(original)));
      expect((await outcome((cb) => store.get('abc', cb))).err).toBe(original);
    });

    it('passes an HTTP error the store chose on unchanged (a 507 stays a 507)', async () => {
      const tooLarge = new SessionTooLargeError('memcached', 2_000_000, 1000);
      const store = newStore(new FakeBackend(failWith(tooLarge)));
      const { err } = await outcome((cb) => store.set('abc', session(), cb));
      expect(err).toBe(tooLarge);
      expect((err as SessionTooLargeError).getStatus()).toBe(507);
    });
  });

  describe('set of a session it did not load (a new one)', () => {
    it('writes the very same session with identical content only once', async () => {
      const backend = new FakeBackend();
      const store = newStore(backend);
      const sess = session({ user: 'ann' });
      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeNull();
      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeFalsy();
      expect(backend.calls).toEqual(['create']);
    });

    it('writes again once the content changed, onto what it wrote', async () => {
      const backend = new FakeBackend();
      const store = newStore(backend);
      const sess = session({ user: 'ann' });
      await outcome((cb) => store.set('abc', sess, cb));
      (sess as unknown as Record<string, unknown>).user = 'bob';
      await outcome((cb) => store.set('abc', sess, cb));
      expect(backend.calls).toEqual(['create', 'replace']);
      expect(backend.stored('abc')).toMatchObject({ user: 'bob' });
    });

    it('writes again after a failed or timed-out write', async () => {
      for (const failure of [failWith(new Error('down')), hang]) {
        const backend = new FakeBackend(failure);
        const store = newStore(backend);
        const sess = session({ user: 'ann' });
        expect(
          (await outcome((cb) => store.set('abc', sess, cb))).err,
        ).toBeInstanceOf(StoreUnavailableError);
        backend.respond = answer;
        expect(
          (await outcome((cb) => store.set('abc', sess, cb))).err,
        ).toBeNull();
        expect(backend.calls).toEqual(['create', 'create']);
      }
    });

    it('writes the same session again under another id, and an equal but distinct one', async () => {
      const backend = new FakeBackend();
      const store = newStore(backend);
      const sess = session({ user: 'ann' });
      await outcome((cb) => store.set('old-id', sess, cb));
      await outcome((cb) => store.set('new-id', sess, cb));
      await outcome((cb) => store.set('new-id', session({ user: 'ann' }), cb));
      expect(backend.calls).toEqual(['create', 'create', 'create']);
      expect(backend.sessions.has('new-id')).toBe(true);
    });

    it('works without a callback', async () => {
      const backend = new FakeBackend();
      newStore(backend).set('abc', session({ n: 1 }));
      await sleep(10);
      expect(backend.stored('abc')).toEqual(session({ n: 1 }));
    });

    it('deletes instead of writing a session whose cookie has expired', async () => {
      const backend = new FakeBackend();
      backend.put('abc', { n: 1 });
      const expired = session({ n: 2 });
      (expired.cookie as unknown as { expires: string }).expires = new Date(
        Date.now() - 1000,
      ).toISOString();
      await call((cb) => newStore(backend).set('abc', expired, cb));
      expect(backend.sessions.has('abc')).toBe(false);
    });
  });

  describe('save of a loaded session', () => {
    it('writes only the keys this request changed, onto what is stored now', async () => {
      const backend = new FakeBackend();
      backend.put('s', { a: 1, b: 1, gone: true });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      // Another request writes meanwhile.
      backend.put('s', { a: 1, b: 2, c: 3, gone: true });
      Object.assign(req.session, { a: 10 });
      delete (req.session as unknown as Record<string, unknown>).gone;
      await save(req.session);
      expect(backend.stored('s')).toMatchObject({ a: 10, b: 2, c: 3 });
      expect(backend.stored('s')).not.toHaveProperty('gone');
      expect(backend.calls).toEqual(['load', 'replace', 'load', 'replace']);
    });

    it('lets the later write win for a key both requests changed', async () => {
      const backend = new FakeBackend();
      backend.put('s', { theme: 'light' });
      const store = newStore(backend);
      const first = await loadedRequest(store, 's');
      const second = await loadedRequest(store, 's');
      data(first.session).theme = 'dark';
      data(second.session).theme = 'blue';
      await save(first.session);
      await save(second.session);
      expect(backend.stored('s')).toMatchObject({ theme: 'blue' });
    });

    it('never writes a session another request destroyed: the change is dropped and the session marked gone', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.sessions.delete('s');
      data(req.session).user = 'mallory';
      await save(req.session);
      expect(backend.sessions.has('s')).toBe(false);
      expect(store.fateOf(req.session)).toBe('gone');
      expect(store.hasUnsavedChanges(req.session)).toBe(false);
      // A second attempt (express-session's own save at the end) writes nothing either.
      await save(req.session);
      expect(backend.calls.filter((c) => c === 'create')).toEqual([]);
    });

    it('counts a changed cookie (a remember-me maxAge) as a change', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      expect(store.hasUnsavedChanges(req.session)).toBe(false);
      req.session.cookie.originalMaxAge = 7 * 24 * 3600 * 1000;
      expect(store.hasUnsavedChanges(req.session)).toBe(true);
    });

    it('reports a failed write as the session fate, for the answer to act on', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.respond = failWith(new Error('down'));
      data(req.session).user = 'bob';
      await expect(save(req.session)).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      expect(store.fateOf(req.session)).toBe('failed');
    });

    it('gives up with a 503 once conflicts have lasted ten store deadlines', async () => {
      const backend = new FakeBackend();
      backend.put('s', { n: 0 });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.replace = async () => ({ status: 'conflict' });
      data(req.session).n = 1;
      const started = Date.now();
      await expect(save(req.session)).rejects.toThrow(
        /conflicting concurrent writes/,
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(10 * TIMEOUT_MS);
      expect(elapsed).toBeLessThan(10 * TIMEOUT_MS + 1000);
    }, 20_000);
  });

  describe('update', () => {
    it('runs the change on the version stored now and stores it by compare-and-set', async () => {
      const backend = new FakeBackend();
      backend.put('s', { n: 1 });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.put('s', { n: 5 });
      const result = await store.update(req.session, (s) => {
        const data = s as unknown as { n: number };
        data.n += 1;
      });
      expect(result).toMatchObject({ n: 6 });
      expect(backend.stored('s')).toMatchObject({ n: 6 });
      expect(data(req.session).n).toBe(6);
      expect(store.hasUnsavedChanges(req.session)).toBe(false);
    });

    it('keeps the handler’s own unsaved changes to other keys, and saves them after', async () => {
      const backend = new FakeBackend();
      backend.put('s', { n: 1, theme: 'light' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      data(req.session).theme = 'dark';
      backend.put('s', { n: 2, theme: 'light', other: 'x' });
      await store.update(req.session, (s) => {
        (s as unknown as { n: number }).n += 1;
      });
      expect(req.session).toMatchObject({ n: 3, theme: 'dark', other: 'x' });
      expect(store.hasUnsavedChanges(req.session)).toBe(true);
      await save(req.session);
      expect(backend.stored('s')).toMatchObject({
        n: 3,
        theme: 'dark',
        other: 'x',
      });
    });

    it('resolves null when the session is gone', async () => {
      const backend = new FakeBackend();
      backend.put('s', { n: 1 });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.sessions.delete('s');
      await expect(store.update(req.session, () => {})).resolves.toBeNull();
      expect(store.fateOf(req.session)).toBe('gone');
    });
  });

  describe('regenerate (express-session’s, as passport calls it)', () => {
    it('destroys the loaded session, then makes a new one', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      await new Promise<void>((resolve, reject) =>
        store.regenerate(req, (err) =>
          err ? reject(err as Error) : resolve(),
        ),
      );
      expect(backend.sessions.has('s')).toBe(false);
      expect(req.sessionID).not.toBe('s');
      data(req.session).user = 'ann';
      await save(req.session);
      expect(backend.stored(req.sessionID)).toMatchObject({ user: 'ann' });
    });

    it('leaves the session as it was when the destroy fails: no new id, marked failed', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      const before = req.session;
      backend.respond = failWith(new Error('down'));
      const err = await new Promise((resolve) =>
        store.regenerate(req, resolve),
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(req.sessionID).toBe('s');
      expect(req.session).toBe(before);
      expect(store.fateOf(before)).toBe('failed');
    });

    it('never stores the successor of a session that was already gone', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      backend.sessions.delete('s');
      await new Promise((resolve) => store.regenerate(req, resolve));
      data(req.session).user = 'ann';
      await save(req.session);
      expect(backend.sessions.size).toBe(0);
      expect(store.hasUnsavedChanges(req.session)).toBe(false);
    });
  });

  describe('renew (a login)', () => {
    it('stores the new session before destroying the old one', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      await expect(store.renew(req, { user: 'bob' } as never)).resolves.toBe(
        true,
      );
      expect(backend.calls).toEqual(['load', 'create', 'destroy']);
      expect(backend.sessions.has('s')).toBe(false);
      expect(backend.stored(req.sessionID)).toMatchObject({ user: 'bob' });
    });

    it('leaves the visitor as they were when the store fails', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const req = await loadedRequest(store, 's');
      const before = req.session;
      backend.respond = failWith(new Error('down'));
      await expect(
        store.renew(req, { user: 'bob' } as never),
      ).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(req.sessionID).toBe('s');
      expect(req.session).toBe(before);
      expect(backend.stored('s')).toMatchObject({ user: 'ann' });
    });

    it('undoes itself when another request ended the old session meanwhile: one of concurrent logins wins', async () => {
      const backend = new FakeBackend();
      backend.put('s', { user: 'ann' });
      const store = newStore(backend);
      const requests = await Promise.all(
        Array.from({ length: 5 }, () => loadedRequest(store, 's')),
      );
      const won = await Promise.all(
        requests.map((req) => store.renew(req, { user: 'ann' } as never)),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(backend.sessions.size).toBe(1);
      const losers = requests.filter((_, i) => !won[i]);
      expect(losers.map((req) => store.fateOf(req.session))).toEqual(
        losers.map(() => 'gone'),
      );
    });
  });

  describe.each(['all', 'length', 'clear'] as const)(
    '%s on a store that cannot list',
    (method) => {
      it('reports an error naming the method', async () => {
        const store = newStore(new FakeBackend());
        const { err } = await outcome((cb) =>
          (store[method] as (cb: Callback) => void).call(store, cb),
        );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toBe(
          `This session store does not support ${method}()`,
        );
      });
    },
  );
});

describe('pingWithin', () => {
  it('resolves when the ping answers in time', async () => {
    await expect(
      pingWithin(() => sleep(5), TIMEOUT_MS),
    ).resolves.toBeUndefined();
  });

  it('rejects with a 503 after timeoutMs when the ping hangs', async () => {
    const started = Date.now();
    const result = pingWithin(() => new Promise<void>(() => {}), TIMEOUT_MS);
    await expect(result).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(result).rejects.toThrow(
      `Session store unavailable: ping timed out after ${TIMEOUT_MS} ms`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
  });

  it('rejects with the error of a failed ping', async () => {
    const failure = new Error('NOAUTH');
    await expect(
      pingWithin(() => Promise.reject(failure), TIMEOUT_MS),
    ).rejects.toBe(failure);
  });

  it('stays rejected when a slow ping answers after the timeout', async () => {
    const result = pingWithin(() => sleep(TIMEOUT_MS + 30), TIMEOUT_MS);
    await expect(result).rejects.toBeInstanceOf(StoreUnavailableError);
    await sleep(TIMEOUT_MS + 40);
    await expect(result).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('ConsistentStore with a TouchThrottle', () => {
  function storedWritten(agoMs: number): FakeBackend {
    const backend = new FakeBackend();
    backend.sessions.set('a', {
      json: JSON.stringify({
        cookie: {
          originalMaxAge: 3_600_000,
          expires: new Date(Date.now() + 3_600_000 - agoMs),
        },
      }),
      version: 1,
    });
    return backend;
  }

  it('skips the touch of a session written within touchAfter', async () => {
    const backend = storedWritten(1000);
    const store = newStore(backend, new TouchThrottle(60_000));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', session(), done));
    expect(backend.touches).toBe(0);
  });

  it('touches once the session was written longer than touchAfter ago, then not again', async () => {
    const backend = storedWritten(120_000);
    const store = newStore(backend, new TouchThrottle(60_000));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', session(), done));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', session(), done));
    expect(backend.touches).toBe(1);
  });

  it('destroys instead of refreshing a session whose cookie has expired', async () => {
    const backend = storedWritten(0);
    const store = newStore(backend);
    const expired = session();
    (expired.cookie as unknown as { expires: string }).expires = new Date(
      Date.now() - 1000,
    ).toISOString();
    await call((done) => store.touch('a', expired, done));
    expect(backend.touches).toBe(0);
    expect(backend.sessions.has('a')).toBe(false);
    expect(store.fateOf(expired)).toBe('gone');
  });

  it('touches on every request without a throttle (once per request), and says when the session was gone', async () => {
    const backend = storedWritten(0);
    const store = newStore(backend);
    // Two requests (two session objects); a second touch within one request is skipped.
    const alive = session();
    await call((done) => store.touch('a', alive, done));
    await call((done) => store.touch('a', session(), done));
    await call((done) => store.touch('a', alive, done));
    expect(backend.touches).toBe(2);
    expect(store.wasRefreshed(alive)).toBe(true);
    const gone = session();
    await call((done) => store.touch('nope', gone, done));
    expect(store.fateOf(gone)).toBe('gone');
    expect(store.wasRefreshed(gone)).toBe(false);
  });
});
