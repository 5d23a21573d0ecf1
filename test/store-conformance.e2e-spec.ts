/**
 * One suite, every store, each on its real server: the same behaviour is asserted of all of
 * them. test/utils/conformance-summary.reporter.cjs prints a line per store at the end.
 */
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionData, Store } from 'express-session';
import {
  StoreUnavailableError,
  type Env,
  type SessionStoreHandle,
} from 'nest-server-session';
import {
  call,
  expiringSession,
  session,
  sessionId,
  sleep,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { blackHole, type BlackHole } from './utils/black-hole.js';
import { freePort } from './utils/free-port.js';
import type { StoreProbe } from './utils/store-probes.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreCase,
  type StoreSetup,
} from './utils/store-cases.js';
import { openStoreFromEnv } from './utils/store-from-env.js';

/** Deadline of one store call in the unreachable cases, and what the test allows on top. */
const UNREACHABLE_TIMEOUT_MS = 300;
const SLACK_MS = 2000;

type SessionList = SessionData[] | { [sid: string]: SessionData } | null;

/** connect-redis lists an array of sessions carrying `id`; the others an id map. */
function byId(list: SessionList | undefined): Record<string, SessionData> {
  if (!Array.isArray(list)) return list ?? {};
  return Object.fromEntries(
    list.map((s) => [(s as SessionData & { id: string }).id, s]),
  );
}

/**
 * Sets up `store` for the tests of the enclosing block and returns `open`: a store built from
 * the environment exactly as the app builds it, on a fresh prefix unless one is given, closed
 * after the block. `reachable`: each is used once it answers (see {@link answering}); the
 * unreachable cases time the open itself.
 */
function useStore(store: StoreCase, { reachable = true } = {}) {
  let setup: StoreSetup;
  const opened: SessionStoreHandle[] = [];
  const probes: StoreProbe[] = [];

  beforeAll(async () => {
    // The stores log outages as warnings; expected here, and noise in the test output.
    Logger.overrideLogger(['error']);
    setup = await store.setUp();
  });

  afterAll(async () => {
    await Promise.all(probes.map((probe) => probe.close()));
    await Promise.all(opened.map((handle) => handle.close()));
    await setup?.tearDown();
  });

  return {
    open: async (overrides: Env = {}): Promise<Store> => {
      const handle = await openStoreFromEnv({
        SESSION_KEY_PREFIX: uniquePrefix(),
        SESSION_TOUCH_AFTER: '0',
        SESSION_LIFETIME: '3600',
        ...setup.env,
        ...overrides,
      });
      opened.push(handle);
      // A store answers 503 until its first connection is up, and on a loaded machine that
      // can take longer than the deadline the store waits for it: these tests are about what
      // it does once connected.
      if (reachable) await answering(handle);
      return handle.store;
    },
    closeLast: () => opened.pop()!.close(),
    /** Reads the server directly, beside the store under test. */
    probeOf: (prefix: string): StoreProbe => {
      const probe = setup.probe(prefix, () => opened.at(-1)!);
      probes.push(probe);
      return probe;
    },
  };
}

/** Resolves once `handle` answers a ping, trying for up to ten seconds. */
async function answering(handle: SessionStoreHandle): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  for (;;) {
    try {
      return await handle.ping();
    } catch (err) {
      if (Date.now() > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** What every store must do on its real server. */
function onItsServer(store: StoreCase): void {
  const { open, probeOf } = useStore(store);

  it('get returns what set stored, and null for an unknown id', async () => {
    const s = await open();
    await call((cb) => s.set('sid-1', session({ username: 'alice' }), cb));
    expect(await call((cb) => s.get('sid-1', cb))).toMatchObject({
      username: 'alice',
    });
    await expect(call((cb) => s.get('unknown', cb))).resolves.toBeNull();
  });

  it('set replaces a stored session', async () => {
    const s = await open();
    await call((cb) => s.set('sid', session({ n: 1, gone: true }), cb));
    await call((cb) => s.set('sid', session({ n: 2 }), cb));
    const stored = await call<SessionData | null>((cb) => s.get('sid', cb));
    expect(stored).toMatchObject({ n: 2 });
    expect(stored).not.toHaveProperty('gone');
  });

  it('destroy removes a session; destroying an unknown id is not an error', async () => {
    const s = await open();
    await call((cb) => s.set('sid', session({ n: 1 }), cb));
    await call((cb) => s.destroy('sid', cb));
    await expect(call((cb) => s.get('sid', cb))).resolves.toBeNull();
    await call((cb) => s.destroy('never-stored', cb));
  });

  it('expires a session at its cookie expiry and at the configured lifetime', async () => {
    const s = await open({ SESSION_LIFETIME: '2', SESSION_TOUCH_AFTER: '0' });
    await call((cb) => s.set('by-cookie', expiringSession(1000, { a: 1 }), cb));
    await call((cb) => s.set('by-lifetime', session({ b: 1 }), cb));
    expect(await call((cb) => s.get('by-cookie', cb))).toMatchObject({
      a: 1,
    });
    expect(await call((cb) => s.get('by-lifetime', cb))).toMatchObject({
      b: 1,
    });
    await sleep(3200);
    await expect(call((cb) => s.get('by-cookie', cb))).resolves.toBeNull();
    await expect(call((cb) => s.get('by-lifetime', cb))).resolves.toBeNull();
  });

  it('touch extends the expiry without changing the data, and never revives a session', async () => {
    const s = await open();
    await call((cb) => s.set('kept', expiringSession(1500, { n: 1 }), cb));
    await call((cb) =>
      s.touch!('kept', expiringSession(60_000, { n: 'not written' }), cb),
    );
    await call((cb) => s.set('gone', expiringSession(60_000, { n: 2 }), cb));
    await call((cb) => s.destroy('gone', cb));
    await call((cb) => s.touch!('gone', expiringSession(60_000), cb));
    await sleep(2600);
    expect(await call((cb) => s.get('kept', cb))).toMatchObject({ n: 1 });
    await expect(call((cb) => s.get('gone', cb))).resolves.toBeNull();
  });

  it('keeps two prefixes on one server apart', async () => {
    const a = await open({ SESSION_KEY_PREFIX: uniquePrefix() });
    const b = await open({ SESSION_KEY_PREFIX: uniquePrefix() });
    await call((cb) => a.set('same-id', session({ owner: 'a' }), cb));
    await call((cb) => b.set('same-id', session({ owner: 'b' }), cb));
    await call((cb) => a.set('only-a', session({ owner: 'a' }), cb));
    expect(await call((cb) => b.get('same-id', cb))).toMatchObject({
      owner: 'b',
    });
    await expect(call((cb) => b.get('only-a', cb))).resolves.toBeNull();
    await call((cb) => a.destroy('same-id', cb));
    expect(await call((cb) => b.get('same-id', cb))).toMatchObject({
      owner: 'b',
    });
  });

  if (store.enumerable) {
    it('clear and length of one prefix leave the other alone', async () => {
      const a = await open({ SESSION_KEY_PREFIX: uniquePrefix() });
      const b = await open({ SESSION_KEY_PREFIX: uniquePrefix() });
      const same = sessionId('same-id');
      await call((cb) => a.set(same, session({ owner: 'a' }), cb));
      await call((cb) => b.set(same, session({ owner: 'b' }), cb));
      await call((cb) => a.clear!(cb));
      expect(await call((cb) => a.length!(cb))).toBe(0);
      expect(await call((cb) => b.length!(cb))).toBe(1);
    });

    it('length, all, ids and clear cover exactly the sessions under the prefix', async () => {
      const s = await open();
      const [x, y, z] = ['x', 'y', 'z'].map(sessionId);
      for (const sid of [x, y, z])
        await call((cb) => s.set(sid, session({ sid }), cb));
      expect(await call((cb) => s.length!(cb))).toBe(3);
      const all = byId(await call<SessionList>((cb) => s.all!(cb)));
      expect(Object.keys(all).toSorted()).toEqual([x, y, z]);
      expect(all[y]).toMatchObject({ sid: y });
      const ids = await call<string[]>((cb) =>
        (
          s as Store & { ids(cb: (e: unknown, v?: string[]) => void): void }
        ).ids(cb),
      );
      expect(ids?.toSorted()).toEqual([x, y, z]);
      await call((cb) => s.clear!(cb));
      expect(await call((cb) => s.length!(cb))).toBe(0);
      await expect(call((cb) => s.get(x, cb))).resolves.toBeNull();
    });
  } else {
    it('says that length, all and clear are not supported (the server cannot list keys)', async () => {
      const s = await open();
      for (const method of ['length', 'all', 'clear'] as const)
        await expect(
          call((cb) => (s[method] as (cb: unknown) => void).call(s, cb)),
        ).rejects.toThrow(`does not support ${method}()`);
    });
  }

  it('stores a 100 KB session whole', async () => {
    const s = await open();
    const big = 'x'.repeat(50 * 1024) + '名'.repeat((50 * 1024) / 3);
    await call((cb) => s.set('big', session({ big }), cb));
    const stored = await call<SessionData | null>((cb) => s.get('big', cb));
    expect((stored as unknown as { big: string }).big).toBe(big);
  });

  it('keeps unicode keys and values exactly', async () => {
    const s = await open();
    const data = {
      名字: '小明',
      ключ: 'значение',
      '🔑': '🎉 emoji, \u2028 separators and "quotes" \\ backslashes',
      nested: { 'ü-Ä': ['é', 'ß', '∑'] },
    };
    await call((cb) => s.set('unicode', session(data), cb));
    expect(await call((cb) => s.get('unicode', cb))).toMatchObject(data);
  });

  it('keeps sessions under a unicode prefix apart from an ASCII one', async () => {
    const unicodePrefix = `e2e-名前-🔑-${uniquePrefix()}`;
    const unicode = await open({ SESSION_KEY_PREFIX: unicodePrefix });
    const ascii = await open({ SESSION_KEY_PREFIX: uniquePrefix() });
    await call((cb) => unicode.set('sid', session({ who: 'ユーザー' }), cb));
    expect(await call((cb) => unicode.get('sid', cb))).toMatchObject({
      who: 'ユーザー',
    });
    await expect(call((cb) => ascii.get('sid', cb))).resolves.toBeNull();
    await call((cb) => unicode.destroy('sid', cb));
    await expect(call((cb) => unicode.get('sid', cb))).resolves.toBeNull();
  });

  it('takes 50 concurrent writers to distinct sessions', async () => {
    const s = await open();
    const ids = Array.from({ length: 50 }, (_, i) => `writer-${i}`);
    await Promise.all(
      ids.map((sid, i) => call((cb) => s.set(sid, session({ i }), cb))),
    );
    const read = await Promise.all(
      ids.map((sid) => call<SessionData | null>((cb) => s.get(sid, cb))),
    );
    read.forEach((stored, i) => expect(stored).toMatchObject({ i }));
  });

  if (store.type === 'filesystem') {
    it('stops the start with the directory named when it cannot be used', async () => {
      await expect(
        open({ SESSION_FILE_DIR: '/dev/null/sessions' }),
      ).rejects.toThrow('/dev/null/sessions');
    });
  }

  if (store.shared) readsTheOtherFormat(open, probeOf);
  else {
    // Two memory stores never share sessions: a format switch is a restart, which empties it.
    // oxlint-disable-next-line jest/no-disabled-tests, jest/expect-expect -- the name says why it cannot apply
    it.skip('reads a session written in the other serialization format: not applicable, nothing outlives a restart', () => {});
  }
}

/** Sessions written in JSON load once msgpack is configured, and the other way round. */
function readsTheOtherFormat(
  open: (overrides: Env) => Promise<Store>,
  probeOf: (prefix: string) => StoreProbe,
): void {
  it('reads a session written in the other serialization format', async () => {
    const prefix = uniquePrefix();
    const json = await open({
      SESSION_KEY_PREFIX: prefix,
      SESSION_SERIALIZATION_FORMAT: 'json',
    });
    const msgpack = await open({
      SESSION_KEY_PREFIX: prefix,
      SESSION_SERIALIZATION_FORMAT: 'msgpack',
    });
    await call((cb) => json.set('was-json', session({ v: 'json 名' }), cb));
    await call((cb) => msgpack.set('was-msgpack', session({ v: 'mp 名' }), cb));
    expect(await call((cb) => msgpack.get('was-json', cb))).toMatchObject({
      v: 'json 名',
    });
    expect(await call((cb) => json.get('was-msgpack', cb))).toMatchObject({
      v: 'mp 名',
    });
    await expectStoredAs(probeOf(prefix), prefix + 'was-json', 'json');
    await expectStoredAs(probeOf(prefix), prefix + 'was-msgpack', 'msgpack');
    // The next save rewrites a session in the configured format.
    await call((cb) => msgpack.set('was-json', session({ v: 'now mp' }), cb));
    await expectStoredAs(probeOf(prefix), prefix + 'was-json', 'msgpack');
  });
}

/** Checks the bytes on the server, where the probe can read them (not through the app). */
async function expectStoredAs(
  probe: StoreProbe,
  key: string,
  format: 'json' | 'msgpack',
): Promise<void> {
  if (!probe.bytes) return;
  const first = (await probe.bytes(key))?.[0];
  const isMsgpackMap =
    first !== undefined &&
    ((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf);
  expect(format === 'json' ? first === 0x7b : isMsgpackMap).toBe(true);
}

/** What every networked store must do when its server is gone: fail fast, never hang. */
function withItsServerUnreachable(
  store: StoreCase,
  unreachableEnv: (hostPort: string) => Env,
): void {
  const { open, closeLast } = useStore(store, { reachable: false });

  /** Opens the store against `hostPort`; each call must fail with a 503 within the deadline. */
  const expectFailsFast = async (hostPort: string) => {
    const started = Date.now();
    const s = await open({
      ...unreachableEnv(hostPort),
      SESSION_STORE_TIMEOUT_MS: String(UNREACHABLE_TIMEOUT_MS),
    });
    // Startup waits at most a couple of deadlines for a first connection, then goes on.
    expect(Date.now() - started).toBeLessThan(
      2 * UNREACHABLE_TIMEOUT_MS + SLACK_MS,
    );
    for (const attempt of [
      (cb: (err?: unknown) => void) => s.get('sid', cb),
      (cb: (err?: unknown) => void) => s.set('sid', session({ n: 1 }), cb),
    ]) {
      const before = Date.now();
      const error = await call(attempt).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - before).toBeLessThan(
        UNREACHABLE_TIMEOUT_MS + SLACK_MS,
      );
    }
    const closing = Date.now();
    await closeLast();
    expect(Date.now() - closing).toBeLessThan(SLACK_MS);
  };

  it('fails fast with a 503 when the server refuses connections', async () => {
    await expectFailsFast(`127.0.0.1:${await freePort()}`);
  });

  it('fails fast with a 503 when the server accepts but never answers', async () => {
    const hole: BlackHole = await blackHole();
    try {
      await expectFailsFast(`127.0.0.1:${hole.port}`);
    } finally {
      await hole.close();
    }
  });
}

describeEachStore(
  'conformance:',
  (store) => {
    // Without its server a store still runs the tests that need none.
    if (!store.notRunReason) {
      describe('on its server', () => {
        onItsServer(store);
      });
    }
    const unreachableEnv = store.unreachableEnv;
    if (unreachableEnv) {
      describe('with its server unreachable', () => {
        withItsServerUnreachable(store, unreachableEnv);
      });
    }
  },
  { alsoWithoutServer: true },
);
