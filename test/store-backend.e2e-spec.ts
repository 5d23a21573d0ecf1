/**
 * The store contract (SessionBackend), on every store's real server: versions and
 * compare-and-set, touch and destroy that report whether the session was there, and listings
 * scoped to exactly `prefix + id`. The suites above it (conformance, concurrency) rely on this.
 */
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { Env, SessionBackend } from 'nest-server-session';
import type { SessionStoreHandle } from 'nest-server-session';
import {
  expiringSession,
  session,
  sessionId,
  sleep,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreCase,
  type StoreSetup,
} from './utils/store-cases.js';
import { openStoreFromEnv } from './utils/store-from-env.js';

const TTL = 3600;

describeEachStore('store contract:', (store: StoreCase) => {
  let setup: StoreSetup;
  const opened: SessionStoreHandle[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    setup = await store.setUp();
  });

  afterAll(async () => {
    await Promise.all(opened.map((handle) => handle.close()));
    await setup?.tearDown();
  });

  /** A backend built from the environment as the app builds it, on a fresh prefix. */
  const open = async (overrides: Env = {}): Promise<SessionBackend> => {
    const handle = await openStoreFromEnv({
      SESSION_KEY_PREFIX: uniquePrefix(),
      SESSION_LIFETIME: String(TTL),
      ...setup.env,
      ...overrides,
    });
    opened.push(handle);
    return handle.backend;
  };

  it('create stores a session that load returns with a version', async () => {
    const b = await open();
    const sid = sessionId('create');
    const version = await b.create(sid, session({ n: 1 }), TTL);
    const loaded = await b.load(sid);
    expect(loaded?.session).toMatchObject({ n: 1 });
    expect(loaded?.version).toEqual(version);
    await expect(b.load(sessionId('unknown'))).resolves.toBeNull();
  });

  it('replace from the current version writes and returns the new version', async () => {
    const b = await open();
    const sid = sessionId('replace');
    const first = await b.create(sid, session({ n: 1 }), TTL);
    const outcome = await b.replace(sid, first, session({ n: 2 }), TTL);
    expect(outcome.status).toBe('replaced');
    const loaded = await b.load(sid);
    expect(loaded?.session).toMatchObject({ n: 2 });
    expect(loaded?.version).toEqual((outcome as { version: unknown }).version);
    expect(loaded?.version).not.toEqual(first);
  });

  it('replace from an older version changes nothing and reports the conflict', async () => {
    const b = await open();
    const sid = sessionId('conflict');
    const first = await b.create(sid, session({ n: 1 }), TTL);
    const second = await b.replace(sid, first, session({ n: 2 }), TTL);
    expect(second.status).toBe('replaced');
    const stale = await b.replace(sid, first, session({ n: 3 }), TTL);
    expect(stale.status).toBe('conflict');
    // The current session comes with the answer where it costs nothing more (Redis).
    const current = (stale as { current?: { session: SessionData } }).current;
    expect(current?.session ?? { n: 2 }).toMatchObject({ n: 2 });
    expect((await b.load(sid))?.session).toMatchObject({ n: 2 });
  });

  it('replace of a destroyed session writes nothing: it stays gone', async () => {
    const b = await open();
    const sid = sessionId('gone');
    const version = await b.create(sid, session({ n: 1 }), TTL);
    await expect(b.destroy(sid)).resolves.toBe(true);
    const outcome = await b.replace(sid, version, session({ n: 2 }), TTL);
    expect(outcome.status).toBe('gone');
    await expect(b.load(sid)).resolves.toBeNull();
  });

  it('of 20 concurrent replaces from one version, exactly one is written', async () => {
    const b = await open();
    const sid = sessionId('race');
    const version = await b.create(sid, session({ n: 0 }), TTL);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        b.replace(sid, version, session({ n: i + 1 }), TTL),
      ),
    );
    const winners = outcomes.flatMap((o, i) =>
      o.status === 'replaced' ? [i + 1] : [],
    );
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'conflict')).toHaveLength(19);
    expect((await b.load(sid))?.session).toMatchObject({ n: winners[0] });
  });

  it('touch moves the expiry of a live session without touching its data, and reports it', async () => {
    const b = await open();
    const sid = sessionId('touch');
    await b.create(sid, expiringSession(1500, { n: 1 }), 2);
    await expect(b.touch(sid, 60)).resolves.toBe(true);
    await sleep(2500);
    expect((await b.load(sid))?.session).toMatchObject({ n: 1 });
  });

  it('touch never re-creates a session: false when it is gone or expired', async () => {
    const b = await open();
    const destroyed = sessionId('destroyed');
    await b.create(destroyed, session(), TTL);
    await b.destroy(destroyed);
    await expect(b.touch(destroyed, TTL)).resolves.toBe(false);
    await expect(b.touch(sessionId('never'), TTL)).resolves.toBe(false);
    await expect(b.load(destroyed)).resolves.toBeNull();

    const expired = sessionId('expired');
    const version = await b.create(expired, expiringSession(1000), 1);
    await sleep(2100);
    await expect(b.load(expired)).resolves.toBeNull();
    await expect(b.touch(expired, TTL)).resolves.toBe(false);
    expect((await b.replace(expired, version, session(), TTL)).status).toBe(
      'gone',
    );
    await expect(b.load(expired)).resolves.toBeNull();
  });

  it('destroy says whether it removed a session; of concurrent destroys, one does', async () => {
    const b = await open();
    const sid = sessionId('destroy');
    await b.create(sid, session(), TTL);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => b.destroy(sid)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    await expect(b.destroy(sid)).resolves.toBe(false);
  });

  if (store.enumerable) {
    it('lists exactly prefix + id: not a longer prefix, not pattern look-alikes, not other keys', async () => {
      const base = uniquePrefix();
      const app = await open({ SESSION_KEY_PREFIX: base + 'app' });
      const app2 = await open({ SESSION_KEY_PREFIX: base + 'app2' });
      const glob = await open({ SESSION_KEY_PREFIX: base + 'x:[ab]:' });
      const plain = await open({ SESSION_KEY_PREFIX: base + 'x:a:' });
      const star = await open({ SESSION_KEY_PREFIX: base + '*%_' });
      const own = sessionId('own');
      for (const b of [app, app2, glob, plain, star])
        await b.create(own, session(), TTL);
      // Under app's prefix but not a session id: an index key, say, or a shorter id.
      await app.create('user:alice', session(), TTL);
      await app.create('short', session(), TTL);
      for (const b of [app, app2, glob, plain, star]) {
        await expect(b.listing!.count()).resolves.toBe(1);
        const pages: string[] = [];
        for await (const page of b.listing!.ids()) pages.push(...page);
        expect(pages).toEqual([own]);
      }
      await expect(glob.listing!.clear()).resolves.toBe(1);
      await expect(star.listing!.clear()).resolves.toBe(1);
      for (const b of [app, app2, plain]) {
        await expect(b.listing!.count()).resolves.toBe(1);
        await expect(b.load(own)).resolves.not.toBeNull();
      }
      await expect(app.load('user:alice')).resolves.not.toBeNull();
    });

    it('pages through many sessions without losing any, and loads them in bulk', async () => {
      const b = await open();
      const sids = Array.from({ length: 250 }, (_, i) => sessionId(`p${i}-`));
      await Promise.all(
        sids.map((sid, i) => b.create(sid, session({ i }), TTL)),
      );
      const seen = new Set<string>();
      let pages = 0;
      for await (const page of b.listing!.ids(100)) {
        pages++;
        expect(page.length).toBeLessThanOrEqual(100);
        page.forEach((sid) => seen.add(sid));
      }
      expect(pages).toBeGreaterThanOrEqual(3);
      expect([...seen].toSorted()).toEqual(sids.toSorted());
      const some = await b.listing!.loadMany([
        sids[0],
        sids[1],
        sessionId('none'),
      ]);
      expect([...some.keys()].toSorted()).toEqual(
        [sids[0], sids[1]].toSorted(),
      );
      expect(some.get(sids[1])).toMatchObject({ i: 1 });
      await expect(b.listing!.clear()).resolves.toBe(250);
      await expect(b.listing!.count()).resolves.toBe(0);
    });
  } else {
    it('has no listing (the server cannot list keys)', async () => {
      const b = await open();
      expect(b.listing).toBeUndefined();
    });
  }
});
