import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Store, type SessionData } from 'express-session';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import { StoreUnavailableError } from '../../store-unavailable.error.js';
import { GuardedStore, pingWithin } from './guarded-store.js';
import { call, sleep } from './store.fixtures.js';
import { TouchThrottle } from './touch-throttle.js';

type Callback<T = unknown> = (err?: unknown, value?: T) => void;

/** How the fake store answers a call: `value` is what a working store would give. */
type Respond = (operation: string, cb: Callback, value?: unknown) => void;

const answer: Respond = (_operation, cb, value) =>
  setImmediate(() => cb(null, value));
const hang: Respond = () => {};
const failWith =
  (err: unknown): Respond =>
  (_operation, cb) =>
    setImmediate(() => cb(err));

/** The three methods express-session requires, and nothing else. */
class MinimalStore extends Store {
  readonly sessions = new Map<string, SessionData>();

  constructor(public respond: Respond = answer) {
    super();
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.respond('get', cb as Callback, this.sessions.get(sid) ?? null);
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    this.sessions.set(sid, JSON.parse(JSON.stringify(session)) as SessionData);
    this.respond('set', cb ?? (() => {}));
  }

  destroy(sid: string, cb?: Callback): void {
    this.sessions.delete(sid);
    this.respond('destroy', cb ?? (() => {}));
  }
}

/** A store with the optional methods too. */
class FullStore extends MinimalStore {
  touch(_sid: string, _session: SessionData, cb?: Callback): void {
    this.respond('touch', cb ?? (() => {}));
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    this.respond('all', cb as Callback, Object.fromEntries(this.sessions));
  }

  length(cb: Callback<number>): void {
    this.respond('length', cb as Callback, this.sessions.size);
  }

  clear(cb?: Callback): void {
    this.sessions.clear();
    this.respond('clear', cb ?? (() => {}));
  }
}

const TIMEOUT_MS = 50;

/** Starts a callback-style call and resolves with what its callback got first. */
function outcome<T>(
  start: (cb: Callback<T>) => void,
): Promise<{ err: unknown; value: T | undefined }> {
  return new Promise((resolve) =>
    start((err, value) => resolve({ err, value })),
  );
}

function session(data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: 60_000, path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

describe('GuardedStore', () => {
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    warn.mockRestore();
  });

  describe('calls that succeed', () => {
    it('passes get results through', async () => {
      const inner = new MinimalStore();
      inner.sessions.set('abc', session({ user: 'ann' }));
      const store = new GuardedStore(inner, TIMEOUT_MS);
      await expect(
        outcome<SessionData | null>((cb) => store.get('abc', cb)),
      ).resolves.toEqual({
        err: null,
        value: session({ user: 'ann' }),
      });
      await expect(outcome((cb) => store.get('missing', cb))).resolves.toEqual({
        err: null,
        value: null,
      });
    });

    it('passes set and destroy through to the inner store', async () => {
      const inner = new MinimalStore();
      const store = new GuardedStore(inner, TIMEOUT_MS);
      expect(
        (await outcome((cb) => store.set('abc', session({ n: 1 }), cb))).err,
      ).toBeNull();
      expect(inner.sessions.get('abc')).toEqual(session({ n: 1 }));
      expect((await outcome((cb) => store.destroy('abc', cb))).err).toBeNull();
      expect(inner.sessions.has('abc')).toBe(false);
    });

    it('passes all, length and clear through when the inner store has them', async () => {
      const inner = new FullStore();
      inner.sessions.set('a', session({ n: 1 }));
      inner.sessions.set('b', session({ n: 2 }));
      const store = new GuardedStore(inner, TIMEOUT_MS);
      expect(await outcome((cb) => store.length(cb))).toEqual({
        err: null,
        value: 2,
      });
      expect((await outcome((cb) => store.all(cb))).value).toEqual({
        a: session({ n: 1 }),
        b: session({ n: 2 }),
      });
      expect((await outcome((cb) => store.clear(cb))).err).toBeNull();
      expect(inner.sessions.size).toBe(0);
    });
  });

  describe('timeouts', () => {
    const calls: [string, (store: GuardedStore, cb: Callback) => void][] = [
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
      'fails %s with a 503 after timeoutMs when the inner store never answers',
      async (operation, call) => {
        const store = new GuardedStore(new FullStore(hang), TIMEOUT_MS);
        const started = Date.now();
        const { err } = await outcome((cb) => call(store, cb));
        const elapsed = Date.now() - started;
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).getStatus()).toBe(503);
        expect((err as Error).message).toBe(
          `Session store unavailable: ${operation} timed out after ${TIMEOUT_MS} ms`,
        );
        expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
        expect(elapsed).toBeLessThan(TIMEOUT_MS + 500);
        expect(warn).toHaveBeenCalledWith(
          expect.stringContaining(`${operation} failed`),
        );
      },
    );

    it('does not fail a call that answers in time', async () => {
      const slow: Respond = (_op, cb, value) =>
        setTimeout(() => cb(null, value), TIMEOUT_MS / 2);
      const store = new GuardedStore(new MinimalStore(slow), TIMEOUT_MS);
      expect((await outcome((cb) => store.get('abc', cb))).err).toBeNull();
    });

    it('ignores an answer that arrives after the timeout', async () => {
      const pending: Callback[] = [];
      const inner = new MinimalStore((_op, cb) => pending.push(cb));
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const cb = jest.fn<Callback>();
      store.get('abc', cb);
      await sleep(TIMEOUT_MS + 30);
      expect(cb).toHaveBeenCalledTimes(1);
      expect(cb.mock.calls[0][0]).toBeInstanceOf(StoreUnavailableError);

      pending[0](null, session({ late: true }));
      await sleep(10);
      expect(cb).toHaveBeenCalledTimes(1);
    });

    it('calls back once when the inner store calls back twice', async () => {
      const twice: Respond = (_op, cb) => {
        cb(null, null);
        cb(new Error('second answer'));
      };
      const store = new GuardedStore(new MinimalStore(twice), TIMEOUT_MS);
      const cb = jest.fn<Callback>();
      store.get('abc', cb);
      await sleep(TIMEOUT_MS + 30);
      expect(cb.mock.calls).toEqual([[null, null]]);
    });
  });

  describe('errors', () => {
    it('wraps an inner error as a 503 that keeps it as the cause', async () => {
      const cause = new Error('connection refused');
      const store = new GuardedStore(
        new MinimalStore(failWith(cause)),
        TIMEOUT_MS,
      );
      const { err } = await outcome((cb) => store.get('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).getStatus()).toBe(503);
      expect((err as Error).message).toBe(
        'Session store unavailable: get failed: connection refused',
      );
      expect((err as Error).cause).toBe(cause);
    });

    it('wraps an error that is not an Error object', async () => {
      const store = new GuardedStore(
        new MinimalStore(failWith('ECONNRESET')),
        TIMEOUT_MS,
      );
      const { err } = await outcome((cb) => store.destroy('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toBe(
        'Session store unavailable: destroy failed: ECONNRESET',
      );
      expect((err as Error).cause).toBe('ECONNRESET');
    });

    it('wraps an error the inner store throws instead of calling back', async () => {
      const thrown = new Error('sync failure');
      const store = new GuardedStore(
        new MinimalStore(() => {
          throw thrown;
        }),
        TIMEOUT_MS,
      );
      const { err } = await outcome((cb) => store.get('abc', cb));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).cause).toBe(thrown);
    });

    it('passes a StoreUnavailableError from the inner store on unchanged', async () => {
      const original = new StoreUnavailableError('get', 'inner reason');
      const store = new GuardedStore(
        new MinimalStore(failWith(original)),
        TIMEOUT_MS,
      );
      expect((await outcome((cb) => store.get('abc', cb))).err).toBe(original);
    });

    it('passes an HTTP error the store chose on unchanged (a 507 stays a 507)', async () => {
      const tooLarge = new SessionTooLargeError('memcached', 2_000_000, 1000);
      const store = new GuardedStore(
        new MinimalStore(failWith(tooLarge)),
        TIMEOUT_MS,
      );
      const { err } = await outcome((cb) => store.set('abc', session(), cb));
      expect(err).toBe(tooLarge);
      expect((err as SessionTooLargeError).getStatus()).toBe(507);
    });

    it('lists ids from all() when the inner store has no ids()', async () => {
      const inner = new FullStore();
      const store = new GuardedStore(inner, TIMEOUT_MS);
      await call((cb) => store.set('a', session(), cb));
      await call((cb) => store.set('b', session(), cb));
      expect(await call<string[]>((cb) => store.ids(cb))).toEqual(['a', 'b']);
    });
  });

  describe('set', () => {
    it('writes the very same session with identical content only once', async () => {
      const inner = new MinimalStore();
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session({ user: 'ann' });

      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeNull();
      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeFalsy();
      expect(innerSet).toHaveBeenCalledTimes(1);
    });

    it('writes again once the content changed', async () => {
      const inner = new MinimalStore();
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session({ user: 'ann' });

      await outcome((cb) => store.set('abc', sess, cb));
      (sess as unknown as Record<string, unknown>).user = 'bob';
      await outcome((cb) => store.set('abc', sess, cb));
      expect(innerSet).toHaveBeenCalledTimes(2);
      expect(inner.sessions.get('abc')).toMatchObject({ user: 'bob' });
    });

    it('writes again after a failed write', async () => {
      const inner = new MinimalStore(failWith(new Error('down')));
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session({ user: 'ann' });

      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeInstanceOf(StoreUnavailableError);
      inner.respond = answer;
      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeNull();
      expect(innerSet).toHaveBeenCalledTimes(2);
    });

    it('writes again after a timed-out write', async () => {
      const inner = new MinimalStore(hang);
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session({ user: 'ann' });

      expect(
        (await outcome((cb) => store.set('abc', sess, cb))).err,
      ).toBeInstanceOf(StoreUnavailableError);
      inner.respond = answer;
      await outcome((cb) => store.set('abc', sess, cb));
      expect(innerSet).toHaveBeenCalledTimes(2);
    });

    it('writes the same session again under another id', async () => {
      const inner = new MinimalStore();
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session({ user: 'ann' });

      await outcome((cb) => store.set('old-id', sess, cb));
      await outcome((cb) => store.set('new-id', sess, cb));
      expect(innerSet).toHaveBeenCalledTimes(2);
      expect(inner.sessions.has('new-id')).toBe(true);
    });

    it('writes an equal but distinct session object', async () => {
      const inner = new MinimalStore();
      const innerSet = jest.spyOn(inner, 'set');
      const store = new GuardedStore(inner, TIMEOUT_MS);

      await outcome((cb) => store.set('abc', session({ user: 'ann' }), cb));
      await outcome((cb) => store.set('abc', session({ user: 'ann' }), cb));
      expect(innerSet).toHaveBeenCalledTimes(2);
    });

    it('works without a callback', async () => {
      const inner = new MinimalStore();
      const store = new GuardedStore(inner, TIMEOUT_MS);
      store.set('abc', session({ n: 1 }));
      await sleep(10);
      expect(inner.sessions.get('abc')).toEqual(session({ n: 1 }));
    });
  });

  describe('touch', () => {
    it('is a no-op that succeeds when the inner store has no touch', () => {
      const store = new GuardedStore(new MinimalStore(hang), TIMEOUT_MS);
      const cb = jest.fn<Callback>();
      store.touch('abc', session(), cb);
      expect(cb).toHaveBeenCalledTimes(1);
      expect(cb.mock.calls[0][0]).toBeUndefined();
    });

    it('calls the inner touch when there is one, and reports its errors', async () => {
      const inner = new FullStore();
      const innerTouch = jest.spyOn(inner, 'touch');
      const store = new GuardedStore(inner, TIMEOUT_MS);
      const sess = session();

      expect(
        (await outcome((cb) => store.touch('abc', sess, cb))).err,
      ).toBeNull();
      expect(innerTouch).toHaveBeenCalledWith(
        'abc',
        sess,
        expect.any(Function),
      );

      inner.respond = failWith(new Error('touch failed'));
      expect(
        (await outcome((cb) => store.touch('abc', sess, cb))).err,
      ).toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe.each(['all', 'length', 'clear'] as const)(
    '%s without support in the inner store',
    (method) => {
      it('reports an error naming the method', async () => {
        const store = new GuardedStore(new MinimalStore(), TIMEOUT_MS);
        const { err } = await outcome((cb) =>
          (store[method] as (cb: Callback) => void)(cb),
        );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toBe(
          `This session store does not support ${method}()`,
        );
      });
    },
  );

  it('does not pass on connect/disconnect events of the inner store', () => {
    const inner = new MinimalStore();
    const store = new GuardedStore(inner, TIMEOUT_MS);
    const listener = jest.fn();
    store.on('disconnect', listener);
    inner.emit('disconnect');
    expect(listener).not.toHaveBeenCalled();
  });
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

describe('GuardedStore with a TouchThrottle', () => {
  /** An inner store that counts touches and serves one stored session. */
  class CountingStore extends Store {
    touches = 0;
    constructor(private readonly stored: SessionData | null) {
      super();
    }
    get(
      _sid: string,
      cb: (err: unknown, session?: SessionData | null) => void,
    ): void {
      cb(
        null,
        this.stored === null
          ? null
          : (JSON.parse(JSON.stringify(this.stored)) as SessionData),
      );
    }
    set(
      _sid: string,
      _session: SessionData,
      cb?: (err?: unknown) => void,
    ): void {
      cb?.();
    }
    destroy(_sid: string, cb?: (err?: unknown) => void): void {
      cb?.();
    }
    touch(_sid: string, _session: SessionData, cb?: () => void): void {
      this.touches++;
      cb?.();
    }
  }

  it('skips the touch of a session written within touchAfter', async () => {
    const inner = new CountingStore({
      cookie: {
        originalMaxAge: 3_600_000,
        expires: new Date(Date.now() + 3_600_000 - 1000),
      },
    } as unknown as SessionData);
    const store = new GuardedStore(inner, 1000, new TouchThrottle(60_000));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', {} as SessionData, done));
    expect(inner.touches).toBe(0);
  });

  it('touches once the session was written longer than touchAfter ago, then not again', async () => {
    const inner = new CountingStore({
      cookie: {
        originalMaxAge: 3_600_000,
        expires: new Date(Date.now() + 3_600_000 - 120_000),
      },
    } as unknown as SessionData);
    const store = new GuardedStore(inner, 1000, new TouchThrottle(60_000));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', {} as SessionData, done));
    await call((done) => store.get('a', done));
    await call((done) => store.touch('a', {} as SessionData, done));
    expect(inner.touches).toBe(1);
  });

  it('touches every time without a throttle', async () => {
    const inner = new CountingStore(null);
    const store = new GuardedStore(inner, 1000);
    await call((done) => store.touch('a', {} as SessionData, done));
    await call((done) => store.touch('a', {} as SessionData, done));
    expect(inner.touches).toBe(2);
  });
});
