import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { SessionData } from 'express-session';
import { Client } from 'memjs';
import { freePort } from '../../../../../test/utils/free-port.js';
import { MemcachedServerProcess } from '../../../../../test/utils/memcached-server.js';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import {
  MEMCACHED_MAX_KEY_BYTES,
  MEMCACHED_MAX_RELATIVE_EXPIRY,
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';
import { createMemcachedStore } from './memcached.store.js';
import { createSessionCodec } from '../common/session-codec.js';
import type { SessionStoreHandle } from '../common/store-handle.js';
import {
  call,
  expiringSession,
  session,
  sleep,
} from '../common/store.fixtures.js';

const TIMEOUT_MS = 500;
const THIRTY_ONE_DAYS = 31 * 24 * 3600;

function optionsFor(
  servers: string[],
  overrides: Partial<ResolvedOptionsOf<'memcached'>> = {},
): ResolvedOptionsOf<'memcached'> {
  return {
    type: 'memcached',
    servers,
    secret: ['test'],
    prefix: 'test:',
    lifetime: THIRTY_ONE_DAYS,
    permanent: true,
    storeTimeoutMs: TIMEOUT_MS,
    touchAfter: 0,
    excludeRoutes: [],
    skipAnonymousReads: false,
    serialization: 'json',
    cookie: { name: 'session', secure: false, sameSite: 'lax', path: '/' },
    ...overrides,
  };
}

const get = (h: SessionStoreHandle, sid: string) =>
  call<SessionData | null>((cb) => h.store.get(sid, cb));
const set = (h: SessionStoreHandle, sid: string, s: SessionData) =>
  call((cb) => h.store.set(sid, s, cb));

/** Runs a store call and measures it; it must fail, never hang. */
const failsFast = async (start: () => Promise<unknown>) => {
  const began = Date.now();
  await expect(start()).rejects.toThrow(/./);
  const took = Date.now() - began;
  expect(took).toBeLessThan(TIMEOUT_MS + 1000);
  return took;
};

/** Runs the store on a private memcached, never one already running on this machine. */
describe('MemcachedSessionStore', () => {
  const servers: MemcachedServerProcess[] = [];
  const handles: SessionStoreHandle[] = [];
  const rawClients = new Map<string, Client>();
  let server: MemcachedServerProcess;
  let handle: SessionStoreHandle;
  let warn: jest.SpiedFunction<Logger['warn']>;

  const startServer = async () => {
    const started = await MemcachedServerProcess.start();
    servers.push(started);
    return started;
  };
  const open = async (
    addresses: string[],
    overrides: Partial<ResolvedOptionsOf<'memcached'>> = {},
    codec = createSessionCodec('json'),
  ) => {
    const opened = await createMemcachedStore(
      optionsFor(addresses, overrides),
      codec,
    );
    handles.push(opened);
    return opened;
  };
  /** A plain memjs client on one server, to see what the store wrote there. */
  const raw = (address: string) => {
    let client = rawClients.get(address);
    if (!client) {
      client = Client.create(address, { logger: { log: () => {} } });
      rawClients.set(address, client);
    }
    return client;
  };
  /**
   * Open connections on a server, as it counts them (the raw client's own included). Read after
   * a pause: memcached counts a connection as closed only once it has read its end.
   */
  const connections = async (address: string) => {
    await sleep(100);
    return new Promise<number>((resolve, reject) =>
      raw(address).stats((err, _server, stats) =>
        err ? reject(err) : resolve(Number(stats!.curr_connections)),
      ),
    );
  };

  beforeAll(async () => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
    server = await startServer();
    handle = await open([server.address]);
  });

  beforeEach(() => {
    warn.mockClear();
  });

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
    rawClients.forEach((client) => client.close());
    await Promise.all(servers.map((s) => s.stop()));
    jest.restoreAllMocks();
  });

  it('stores, loads, touches and destroys a session', async () => {
    expect(handle.type).toBe('memcached');
    await set(handle, 'life', session({ user: 'ann' }));
    expect(await get(handle, 'life')).toMatchObject({ user: 'ann' });
    await call((cb) => handle.store.touch!('life', session(), cb));
    expect(await get(handle, 'life')).toMatchObject({ user: 'ann' });
    await call((cb) => handle.store.destroy('life', cb));
    expect(await get(handle, 'life')).toBeNull();
    // Destroying what is gone is no error.
    await call((cb) => handle.store.destroy('life', cb));
    await expect(handle.ping()).resolves.toBeUndefined();
  });

  it('writes under prefix + sid', async () => {
    await set(handle, 'keyed', session({ n: 1 }));
    const { value } = await raw(server.address).get('test:keyed');
    expect(JSON.parse(value!.toString())).toMatchObject({ n: 1 });
  });

  it('never recreates a missing session on touch', async () => {
    await call((cb) => handle.store.touch!('never-set', session(), cb));
    expect(await get(handle, 'never-set')).toBeNull();
  });

  it('leaves out all(), length() and clear(): memcached cannot list keys', () => {
    expect(handle.store.all).toBeUndefined();
    expect(handle.store.length).toBeUndefined();
    expect(handle.store.clear).toBeUndefined();
  });

  it('sends expiries over 30 days as unix timestamps', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(memcachedExpiry(60, now)).toBe(60);
    expect(memcachedExpiry(MEMCACHED_MAX_RELATIVE_EXPIRY, now)).toBe(
      MEMCACHED_MAX_RELATIVE_EXPIRY,
    );
    expect(memcachedExpiry(THIRTY_ONE_DAYS, now)).toBe(
      now / 1000 + THIRTY_ONE_DAYS,
    );
  });

  it('keeps a session that lives 31 days', async () => {
    // Sent as seconds, 31 days would be a timestamp in 1970: already expired.
    await set(handle, 'long', expiringSession(THIRTY_ONE_DAYS * 1000));
    await set(handle, 'browser', session({ b: 1 }));
    expect(await get(handle, 'long')).not.toBeNull();
    expect(await get(handle, 'browser')).toMatchObject({ b: 1 });
  });

  it('expires a session with its cookie; touch extends it', async () => {
    await set(handle, 'short', expiringSession(1000));
    await set(handle, 'kept', expiringSession(1000));
    await call((cb) => handle.store.touch!('kept', expiringSession(5000), cb));
    expect(await get(handle, 'short')).not.toBeNull();
    // memcached's clock ticks in whole seconds, so wait well past the second.
    await sleep(2200);
    expect(await get(handle, 'short')).toBeNull();
    expect(await get(handle, 'kept')).not.toBeNull();
  });

  it('deletes instead of writing an expired session', async () => {
    await set(handle, 'stale', session());
    await set(handle, 'stale', expiringSession(-1000));
    expect(await get(handle, 'stale')).toBeNull();
  });

  it('keeps prefixes apart', async () => {
    const other = await open([server.address], { prefix: 'other:' });
    await set(handle, 'shared', session({ owner: 'test' }));
    expect(await get(other, 'shared')).toBeNull();
    await set(other, 'shared', session({ owner: 'other' }));
    expect(await get(handle, 'shared')).toMatchObject({ owner: 'test' });
  });

  it('refuses keys memcached cannot hold, with a clear error', async () => {
    const long = 'x'.repeat(MEMCACHED_MAX_KEY_BYTES);
    await expect(set(handle, long, session())).rejects.toThrow(
      /key too long: 255 bytes, limit 250/,
    );
    await expect(get(handle, long)).rejects.toThrow(/key too long/);
    await expect(get(handle, 'a b')).rejects.toThrow(/whitespace or control/);
    await expect(set(handle, 'a\nb', session())).rejects.toThrow(
      /whitespace or control/,
    );
  });

  it('stores a session of exactly the limit under a 250-byte key, refuses one byte more', async () => {
    const sid = 's'.repeat(MEMCACHED_MAX_KEY_BYTES - 'test:'.length);
    const padOf = async (id: string) =>
      ((await get(handle, id)) as unknown as { pad: string }).pad;
    const padding =
      MEMCACHED_MAX_VALUE_BYTES - JSON.stringify(session({ pad: '' })).length;
    const fits = session({ pad: 'a'.repeat(padding) });
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(
      MEMCACHED_MAX_VALUE_BYTES,
    );
    await set(handle, sid, fits);
    expect(await padOf(sid)).toHaveLength(padding);

    const tooLarge = session({ pad: 'b'.repeat(padding + 1) });
    const refused = set(handle, sid, tooLarge);
    await expect(refused).rejects.toBeInstanceOf(SessionTooLargeError);
    await expect(refused).rejects.toThrow(
      `${MEMCACHED_MAX_VALUE_BYTES + 1} bytes, limit ${MEMCACHED_MAX_VALUE_BYTES}`,
    );
    expect(await padOf(sid)).toBe('a'.repeat(padding));
  });

  it('keeps the limit under what memcached accepts with default settings', async () => {
    // memcached itself takes our limit under a 250-byte key, and refuses a full MiB.
    const client = raw(server.address);
    const key = 'k'.repeat(MEMCACHED_MAX_KEY_BYTES);
    await expect(
      client.set(key, Buffer.alloc(MEMCACHED_MAX_VALUE_BYTES), { expires: 60 }),
    ).resolves.toBe(true);
    await expect(
      client.set(key, Buffer.alloc(1024 * 1024), { expires: 60 }),
    ).rejects.toThrow(/too large/i);
  });

  it('round-trips unicode', async () => {
    const text = 'Zoë, 日本語, emoji 🎉, RTL שלום, line separator \u2028';
    await set(handle, 'unicode', session({ text }));
    expect(await get(handle, 'unicode')).toMatchObject({ text });
  });

  it('writes msgpack when configured, and either codec reads it', async () => {
    const msgpack = await open(
      [server.address],
      {},
      createSessionCodec('msgpack'),
    );
    await set(msgpack, 'packed', session({ text: 'ünïcode', n: [1, 2] }));
    const { value } = await raw(server.address).get('test:packed');
    expect(value![0]).toBeGreaterThanOrEqual(0x80);
    expect(await get(msgpack, 'packed')).toMatchObject({
      text: 'ünïcode',
      n: [1, 2],
    });
    expect(await get(handle, 'packed')).toMatchObject({ text: 'ünïcode' });
  });

  it('loads an unreadable entry as no session', async () => {
    await raw(server.address).set('test:garbage', 'not a session', {
      expires: 60,
    });
    expect(await get(handle, 'garbage')).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('test:garbage'));
  });

  it('spreads keys across servers and reads them all back', async () => {
    const second = await startServer();
    const spread = await open([server.address, second.address], {
      prefix: 'spread:',
    });
    const sids = Array.from({ length: 20 }, (_, i) => `sid-${i}`);
    await Promise.all(sids.map((sid) => set(spread, sid, session({ sid }))));

    const held = async (address: string) => {
      const client = raw(address);
      const found = await Promise.all(
        sids.map(
          async (sid) => (await client.get(`spread:${sid}`)).value !== null,
        ),
      );
      return found.filter(Boolean).length;
    };
    const [onFirst, onSecond] = [
      await held(server.address),
      await held(second.address),
    ];
    expect(onFirst).toBeGreaterThan(0);
    expect(onSecond).toBeGreaterThan(0);
    expect(onFirst + onSecond).toBe(sids.length);
    for (const sid of sids)
      expect(await get(spread, sid)).toMatchObject({ sid });
    await expect(spread.ping()).resolves.toBeUndefined();
  });

  describe('when memcached is unreachable', () => {
    it('fails fast on a refused port, starts anyway and logs the outage once', async () => {
      const began = Date.now();
      const down = await open([`127.0.0.1:${await freePort()}`]);
      expect(Date.now() - began).toBeLessThan(TIMEOUT_MS + 1000);
      for (let i = 0; i < 3; i++) {
        await failsFast(() => get(down, 'x'));
        await failsFast(() => set(down, 'x', session()));
      }
      await failsFast(() =>
        call((cb) => down.store.touch!('x', session(), cb)),
      );
      await failsFast(() => call((cb) => down.store.destroy('x', cb)));
      await failsFast(() => down.ping());
      const outageLines = warn.mock.calls.filter(([message]) =>
        String(message).includes('127.0.0.1'),
      );
      expect(outageLines).toHaveLength(1);
    });

    it('fails within the timeout on a stalled server and recovers when it resumes', async () => {
      const stalled = await startServer();
      const store = await open([stalled.address]);
      await set(store, 'before', session({ kept: true }));
      await stalled.pause();
      try {
        const took = await failsFast(() => get(store, 'before'));
        expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        await failsFast(() => set(store, 'during', session()));
        await failsFast(() => store.ping());
      } finally {
        stalled.resume();
      }
      expect(await get(store, 'before')).toMatchObject({ kept: true });
      await set(store, 'after', session());
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('leaves no socket open after close, though the server stalled', async () => {
      const stalled = await startServer();
      const baseline = await connections(stalled.address);
      const store = await open([stalled.address]);
      await set(store, 'x', session());
      await stalled.pause();
      await failsFast(() => get(store, 'x'));
      // A call that opens a new socket while the old one waits for the server to read its FIN:
      // plain memjs 1.3.2 loses track of the new socket once the old one closes.
      const pending = get(store, 'x');
      await sleep(100);
      stalled.resume();
      await expect(pending).resolves.not.toBeNull();
      await store.close();
      expect(await connections(stalled.address)).toBe(baseline);
    });

    it('closes promptly while the server is stalled', async () => {
      const stalled = await startServer();
      const store = await open([stalled.address]);
      await set(store, 'x', session());
      const baseline = await connections(stalled.address);
      await stalled.pause();
      const began = Date.now();
      await store.close();
      expect(Date.now() - began).toBeLessThan(TIMEOUT_MS + 500);
      stalled.resume();
      expect(await connections(stalled.address)).toBe(baseline - 1);
    });

    it('recovers after the server restarts', async () => {
      const restarted = await startServer();
      const store = await open([restarted.address]);
      await set(store, 'x', session());
      await restarted.kill();
      await failsFast(() => get(store, 'x'));
      await restarted.restart();
      // memcached keeps nothing across a restart: the session is gone, the store works.
      expect(await get(store, 'x')).toBeNull();
      await set(store, 'x', session({ again: true }));
      expect(await get(store, 'x')).toMatchObject({ again: true });
    });
  });
});
