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
import { Client } from 'memjs';
import { freePort } from '../../../../../test/utils/free-port.js';
import { MemcachedServerProcess } from '../../../../../test/utils/memcached-server.js';
import { forward, type TcpProxy } from '../../../../../test/utils/tcp-proxy.js';
import { SessionTooLargeError } from '../../session-too-large.error.js';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import {
  MEMCACHED_MAX_KEY_BYTES,
  MEMCACHED_MAX_RELATIVE_EXPIRY,
  MEMCACHED_MAX_VALUE_BYTES,
  memcachedExpiry,
} from './memcached-limits.js';
import { memcachedOptionsFor } from './memcached.fixtures.js';
import { createMemcachedBackend } from './memcached.store.js';
import { createSessionCodec } from '../common/session-codec.js';
import type { SessionBackend } from '../store.contract.js';
import { session, sleep } from '../common/store.fixtures.js';

const TIMEOUT_MS = 500;
const TTL = 3600;
const THIRTY_ONE_DAYS = 31 * 24 * 3600;

/** The session stored under `sid`, without its version. */
const loaded = async (b: SessionBackend, sid: string) =>
  (await b.load(sid))?.session ?? null;

/** Runs a store call and measures it; it must fail, never hang. */
const failsFast = async (start: () => Promise<unknown>) => {
  const began = Date.now();
  await expect(start()).rejects.toThrow(/./);
  const took = Date.now() - began;
  expect(took).toBeLessThan(TIMEOUT_MS + 1000);
  return took;
};

/** Runs the store on a private memcached, never one already running on this machine. */
describe('MemcachedSessionBackend', () => {
  const servers: MemcachedServerProcess[] = [];
  const backends: SessionBackend[] = [];
  const proxies: TcpProxy[] = [];
  const rawClients = new Map<string, Client>();
  let server: MemcachedServerProcess;
  let backend: SessionBackend;
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
    const opened = await createMemcachedBackend(
      memcachedOptionsFor(addresses, {
        storeTimeoutMs: TIMEOUT_MS,
        lifetime: THIRTY_ONE_DAYS,
        ...overrides,
      }),
      codec,
    );
    backends.push(opened);
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
    backend = await open([server.address]);
  });

  beforeEach(() => {
    warn.mockClear();
  });

  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(proxies.map((p) => p.close()));
    rawClients.forEach((client) => client.close());
    await Promise.all(servers.map((s) => s.stop()));
    jest.restoreAllMocks();
  });

  it('stores, loads, touches and destroys a session', async () => {
    expect(backend.type).toBe('memcached');
    await backend.create('life', session({ user: 'ann' }), TTL);
    expect(await loaded(backend, 'life')).toMatchObject({ user: 'ann' });
    await expect(backend.touch('life', TTL)).resolves.toBe(true);
    expect(await loaded(backend, 'life')).toMatchObject({ user: 'ann' });
    await expect(backend.destroy('life')).resolves.toBe(true);
    expect(await backend.load('life')).toBeNull();
    // Destroying what is gone is no error.
    await expect(backend.destroy('life')).resolves.toBe(false);
    await expect(backend.ping()).resolves.toBeUndefined();
  });

  it('writes under prefix + sid', async () => {
    await backend.create('keyed', session({ n: 1 }), TTL);
    const { value } = await raw(server.address).get('test:keyed');
    expect(JSON.parse(value!.toString())).toMatchObject({ n: 1 });
  });

  it('never recreates a missing session on touch', async () => {
    await expect(backend.touch('never-set', TTL)).resolves.toBe(false);
    expect(await backend.load('never-set')).toBeNull();
  });

  it('has no listing: memcached cannot list keys', () => {
    expect(backend.listing).toBeUndefined();
    expect(backend.removeExpired).toBeUndefined();
  });

  describe('versions are CAS values', () => {
    it('a write by any other client is a conflict, not overwritten', async () => {
      const version = await backend.create('cas', session({ n: 1 }), TTL);
      // An older app instance, or any client without CAS, writing meanwhile.
      await raw(server.address).set(
        'test:cas',
        JSON.stringify(session({ n: 2 })),
        { expires: 60 },
      );
      const outcome = await backend.replace('cas', version, session(), TTL);
      expect(outcome.status).toBe('conflict');
      expect(await loaded(backend, 'cas')).toMatchObject({ n: 2 });
    });

    it('touch keeps the version, so a session loaded before its touch is still replaced', async () => {
      await backend.create('touched', session({ n: 1 }), TTL);
      const before = await backend.load('touched');
      await expect(backend.touch('touched', TTL)).resolves.toBe(true);
      expect((await backend.load('touched'))?.version).toEqual(before!.version);
      const outcome = await backend.replace(
        'touched',
        before!.version,
        session({ n: 2 }),
        TTL,
      );
      expect(outcome.status).toBe('replaced');
      expect(await loaded(backend, 'touched')).toMatchObject({ n: 2 });
    });

    it('refuses a version it did not give, rather than write unconditionally', async () => {
      await backend.create('forged', session({ n: 1 }), TTL);
      for (const forged of ['', '0000000000000000', 'zz', 1])
        await expect(
          backend.replace('forged', forged, session({ n: 2 }), TTL),
        ).rejects.toThrow(/not a version/);
      expect(await loaded(backend, 'forged')).toMatchObject({ n: 1 });
    });

    it('refuses to work on a memcached without CAS values (-C), which ignores them', async () => {
      const noCas = await MemcachedServerProcess.start(['-C']);
      servers.push(noCas);
      const store = await open([noCas.address]);
      await expect(store.create('x', session(), TTL)).rejects.toThrow(
        /without CAS values \(-C\)/,
      );
      await expect(store.load('x')).rejects.toThrow(/without CAS values/);
    });
  });

  it('sends expiries over 30 days as unix timestamps, and none at all as a time past', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(memcachedExpiry(60, now)).toBe(60);
    expect(memcachedExpiry(MEMCACHED_MAX_RELATIVE_EXPIRY, now)).toBe(
      MEMCACHED_MAX_RELATIVE_EXPIRY,
    );
    expect(memcachedExpiry(THIRTY_ONE_DAYS, now)).toBe(
      now / 1000 + THIRTY_ONE_DAYS,
    );
    // 0 would be "never expires"; a unix time just past expires the item.
    expect(memcachedExpiry(0, now)).toBe(now / 1000 - 1);
    expect(memcachedExpiry(-5, now)).toBe(now / 1000 - 1);
  });

  it('keeps a session that lives 31 days', async () => {
    // Sent as seconds, 31 days would be a timestamp in 1970: already expired.
    await backend.create('long', session(), THIRTY_ONE_DAYS);
    await backend.create('browser', session({ b: 1 }), TTL);
    expect(await backend.load('long')).not.toBeNull();
    expect(await loaded(backend, 'browser')).toMatchObject({ b: 1 });
    await expect(backend.touch('long', THIRTY_ONE_DAYS)).resolves.toBe(true);
    expect(await backend.load('long')).not.toBeNull();
  });

  it('expires a session with its TTL; touch extends it', async () => {
    await backend.create('short', session(), 1);
    await backend.create('kept', session(), 1);
    await expect(backend.touch('kept', 5)).resolves.toBe(true);
    expect(await backend.load('short')).not.toBeNull();
    // memcached's clock ticks in whole seconds, so wait well past the second.
    await sleep(2200);
    expect(await backend.load('short')).toBeNull();
    expect(await backend.load('kept')).not.toBeNull();
  });

  it('never keeps a session forever for a TTL of zero or less', async () => {
    await backend.create('stale', session(), 0);
    expect(await backend.load('stale')).toBeNull();
    await backend.create('ended', session(), TTL);
    await backend.touch('ended', 0);
    expect(await backend.load('ended')).toBeNull();
  });

  it('keeps prefixes apart', async () => {
    const other = await open([server.address], { prefix: 'other:' });
    await backend.create('shared', session({ owner: 'test' }), TTL);
    expect(await other.load('shared')).toBeNull();
    await other.create('shared', session({ owner: 'other' }), TTL);
    expect(await loaded(backend, 'shared')).toMatchObject({ owner: 'test' });
  });

  it('refuses keys memcached cannot hold, with a clear error', async () => {
    const long = 'x'.repeat(MEMCACHED_MAX_KEY_BYTES);
    await expect(backend.create(long, session(), TTL)).rejects.toThrow(
      /key too long: 255 bytes, limit 250/,
    );
    await expect(backend.load(long)).rejects.toThrow(/key too long/);
    await expect(backend.load('a b')).rejects.toThrow(/whitespace or control/);
    await expect(backend.create('a\nb', session(), TTL)).rejects.toThrow(
      /whitespace or control/,
    );
  });

  it('stores a session of exactly the limit under a 250-byte key, refuses one byte more', async () => {
    const sid = 's'.repeat(MEMCACHED_MAX_KEY_BYTES - 'test:'.length);
    const padOf = async () =>
      ((await loaded(backend, sid)) as unknown as { pad: string }).pad;
    const padding =
      MEMCACHED_MAX_VALUE_BYTES - JSON.stringify(session({ pad: '' })).length;
    const fits = session({ pad: 'a'.repeat(padding) });
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(
      MEMCACHED_MAX_VALUE_BYTES,
    );
    const version = await backend.create(sid, fits, TTL);
    expect(await padOf()).toHaveLength(padding);

    const tooLarge = session({ pad: 'b'.repeat(padding + 1) });
    for (const refused of [
      backend.create(sid, tooLarge, TTL),
      backend.replace(sid, version, tooLarge, TTL),
    ]) {
      await expect(refused).rejects.toBeInstanceOf(SessionTooLargeError);
      await expect(refused).rejects.toThrow(
        `${MEMCACHED_MAX_VALUE_BYTES + 1} bytes, limit ${MEMCACHED_MAX_VALUE_BYTES}`,
      );
    }
    expect(await padOf()).toBe('a'.repeat(padding));
    expect((await backend.load(sid))?.version).toEqual(version);
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
    await backend.create('unicode', session({ text }), TTL);
    expect(await loaded(backend, 'unicode')).toMatchObject({ text });
  });

  it('writes msgpack when configured, and either codec reads it', async () => {
    const msgpack = await open(
      [server.address],
      {},
      createSessionCodec('msgpack'),
    );
    await msgpack.create(
      'packed',
      session({ text: 'ünïcode', n: [1, 2] }),
      TTL,
    );
    const { value } = await raw(server.address).get('test:packed');
    expect(value![0]).toBeGreaterThanOrEqual(0x80);
    expect(await loaded(msgpack, 'packed')).toMatchObject({
      text: 'ünïcode',
      n: [1, 2],
    });
    expect(await loaded(backend, 'packed')).toMatchObject({ text: 'ünïcode' });
  });

  it('loads an unreadable entry as no session, logged without its id', async () => {
    await raw(server.address).set('test:garbage', 'not a session', {
      expires: 60,
    });
    expect(await backend.load('garbage')).toBeNull();
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/neither JSON nor msgpack/),
    );
    expect(JSON.stringify(warn.mock.calls)).not.toContain('garbage');
  });

  it('spreads keys across servers and reads them all back', async () => {
    const second = await startServer();
    const spread = await open([server.address, second.address], {
      prefix: 'spread:',
    });
    const sids = Array.from({ length: 20 }, (_, i) => `sid-${i}`);
    await Promise.all(
      sids.map((sid) => spread.create(sid, session({ sid }), TTL)),
    );

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
      expect(await loaded(spread, sid)).toMatchObject({ sid });
    await expect(spread.ping()).resolves.toBeUndefined();
  });

  describe('when memcached is unreachable', () => {
    it('fails fast on a refused port, starts anyway and logs the outage once', async () => {
      const began = Date.now();
      const down = await open([`127.0.0.1:${await freePort()}`]);
      expect(Date.now() - began).toBeLessThan(TIMEOUT_MS + 1000);
      for (let i = 0; i < 3; i++) {
        await failsFast(() => down.load('x'));
        await failsFast(() => down.create('x', session(), TTL));
        await failsFast(() =>
          down.replace('x', '0000000000000001', session(), TTL),
        );
      }
      await failsFast(() => down.touch('x', TTL));
      await failsFast(() => down.destroy('x'));
      await failsFast(() => down.ping());
      const outageLines = warn.mock.calls.filter(([message]) =>
        String(message).includes('127.0.0.1'),
      );
      expect(outageLines).toHaveLength(1);
    });

    it('fails within the timeout on a stalled server and recovers when it resumes', async () => {
      const stalled = await startServer();
      const store = await open([stalled.address]);
      await store.create('before', session({ kept: true }), TTL);
      await stalled.pause();
      try {
        const took = await failsFast(() => store.load('before'));
        expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        await failsFast(() => store.create('during', session(), TTL));
        await failsFast(() => store.ping());
      } finally {
        stalled.resume();
      }
      expect(await loaded(store, 'before')).toMatchObject({ kept: true });
      await store.create('after', session(), TTL);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('drops a connection that went silent under steady traffic, and answers on a new one', async () => {
      const silent = await startServer();
      const proxy = await forward(0, { host: '127.0.0.1', port: silent.port });
      proxies.push(proxy);
      const store = await open([`127.0.0.1:${proxy.port}`]);
      await store.create('steady', session({ kept: true }), TTL);
      proxy.silenceOpenConnections();
      const silencedAt = Date.now();
      // A call every 100 ms keeps the dead socket busy: memjs's idle timeout never fires.
      const calls: Promise<{ at: number; ok: boolean }>[] = [];
      while (Date.now() - silencedAt < 3 * TIMEOUT_MS) {
        const at = Date.now() - silencedAt;
        calls.push(
          store.load('steady').then(
            (found) => ({ at, ok: found !== null }),
            () => ({ at, ok: false }),
          ),
        );
        await sleep(100);
      }
      const results = await Promise.all(calls);
      const failedAt = results.filter((r) => !r.ok).map((r) => r.at);
      expect(failedAt.length).toBeGreaterThan(0);
      expect(Math.max(...failedAt)).toBeLessThan(TIMEOUT_MS + 100);
      expect(results.filter((r) => r.at > TIMEOUT_MS + 100)).not.toEqual([]);
    });

    it('leaves no socket open after close, though the server stalled', async () => {
      const stalled = await startServer();
      const baseline = await connections(stalled.address);
      const store = await open([stalled.address]);
      await store.create('x', session(), TTL);
      await stalled.pause();
      await failsFast(() => store.load('x'));
      // A call that opens a new socket while the old one waits for the server to read its FIN:
      // plain memjs 1.3.2 loses track of the new socket once the old one closes.
      const pending = store.load('x');
      await sleep(100);
      stalled.resume();
      await expect(pending).resolves.not.toBeNull();
      await store.close();
      expect(await connections(stalled.address)).toBe(baseline);
    });

    it('closes promptly while the server is stalled', async () => {
      const stalled = await startServer();
      const store = await open([stalled.address]);
      await store.create('x', session(), TTL);
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
      const version = await store.create('x', session(), TTL);
      await restarted.kill();
      await failsFast(() => store.load('x'));
      await restarted.restart();
      // memcached keeps nothing across a restart: the session is gone, the store works.
      expect(await store.load('x')).toBeNull();
      expect((await store.replace('x', version, session(), TTL)).status).toBe(
        'gone',
      );
      await store.create('x', session({ again: true }), TTL);
      expect(await loaded(store, 'x')).toMatchObject({ again: true });
    });
  });
});
