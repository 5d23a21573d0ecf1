/**
 * A user's sessions, on every store's real server: the per-user index the module keeps
 * (list, revoke one, revoke all but the current one, expiry), through the demo's login and
 * the exported UserSessions service. Part of the conformance suite (its summary counts these
 * under each store).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UserSessions } from 'nest-server-session';
import request from 'supertest';
import { greeting, logIn, sessionIdOf } from './utils/session-http.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreSetup,
} from './utils/store-cases.js';
import type { StoreProbe } from './utils/store-probes.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
];

describeEachStore('conformance:', (store) => {
  describe('a user’s sessions (the per-user index)', () => {
    const prefix = uniquePrefix();
    let setup: StoreSetup;
    let t: TestApp;
    let probe: StoreProbe;
    let users: UserSessions;

    beforeAll(async () => {
      setup = await store.setUp();
      t = await createTestApp({
        ...setup.env,
        SESSION_KEY_PREFIX: prefix,
        SESSION_TOUCH_AFTER: '0',
      });
      probe = setup.probe(prefix, () => t.store);
      users = t.app.get(UserSessions);
    });

    afterAll(async () => {
      await probe?.close();
      await t?.close();
      await setup?.tearDown();
    });

    /** Logs `username` in from `count` separate browsers. */
    async function devices(username: string, count: number) {
      return Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const agent = request.agent(t.server);
          agent.set('User-Agent', USER_AGENTS[i % USER_AGENTS.length]);
          const sid = sessionIdOf(await logIn(agent, username))!;
          return { agent, sid };
        }),
      );
    }

    const isLoggedIn = async (agent: ReturnType<typeof request.agent>) =>
      greeting((await agent.get('/login/').expect(200)).text) !== '';

    it('lists each device a user logged in from, with its browser, and marks the current one', async () => {
      const user = `five-${prefix}`;
      const browsers = await devices(user, 5);
      const listed = await users.list(user, browsers[2].sid);
      expect(listed).toHaveLength(5);
      expect(listed[0].current).toBe(true);
      expect(listed.filter((s) => s.current)).toHaveLength(1);
      expect(listed.map((s) => s.userAgent).toSorted()).toEqual(
        [...USER_AGENTS].toSorted(),
      );
      for (const entry of listed) {
        expect(entry.handle).toMatch(/^[\w-]{22}$/);
        for (const { sid } of browsers) expect(entry.handle).not.toContain(sid);
        expect(Math.abs(entry.createdAt.getTime() - Date.now())).toBeLessThan(
          60_000,
        );
        expect(Math.abs(entry.lastSeen!.getTime() - Date.now())).toBeLessThan(
          60_000,
        );
        expect(entry.ip).toBeUndefined();
      }
    });

    it('revokes one session: that browser is anonymous at once, the others stay', async () => {
      const user = `revoke-${prefix}`;
      const browsers = await devices(user, 5);
      const listed = await users.list(user, browsers[0].sid);
      const victim = listed.find((s) => !s.current)!;
      await expect(users.revoke(user, victim.handle)).resolves.toBe(true);
      const after = await users.list(user);
      expect(after).toHaveLength(4);
      expect(after.map((s) => s.handle)).not.toContain(victim.handle);
      const states = await Promise.all(
        browsers.map((b) => isLoggedIn(b.agent)),
      );
      expect(states.filter((loggedIn) => !loggedIn)).toHaveLength(1);
      await expect(users.revoke(user, victim.handle)).resolves.toBe(false);
      await expect(
        users.revoke(`someone-else-${prefix}`, after[0].handle),
      ).resolves.toBe(false);
      expect(await users.list(user)).toHaveLength(4);
    });

    it('revokes every session but the current one', async () => {
      const user = `all-${prefix}`;
      const browsers = await devices(user, 5);
      await expect(
        users.revokeAll(user, { except: browsers[3].sid }),
      ).resolves.toBe(4);
      const after = await users.list(user, browsers[3].sid);
      expect(after).toHaveLength(1);
      expect(after[0].current).toBe(true);
      const states = await Promise.all(
        browsers.map((b) => isLoggedIn(b.agent)),
      );
      expect(states).toEqual([false, false, false, true, false]);
    });

    it('forgets a session at logout and at a new login of the same browser', async () => {
      const user = `logout-${prefix}`;
      const [first, second] = await devices(user, 2);
      const token = /name="_csrf" value="([^"]+)"/.exec(
        (await first.agent.get('/login/')).text,
      )![1];
      await first.agent
        .post('/logout/')
        .type('form')
        .send({ _csrf: token })
        .expect(302);
      expect(await users.list(user)).toHaveLength(1);
      await logIn(second.agent, user);
      const after = await users.list(user);
      expect(after).toHaveLength(1);
    });

    it('ends a session at its absolute lifetime however active it is (a request every 300 ms, ended at 2 s)', async () => {
      const strict = await createTestApp({
        ...setup.env,
        SESSION_KEY_PREFIX: prefix,
        SESSION_ABSOLUTE_LIFETIME: '2',
        SESSION_TOUCH_AFTER: '0',
      });
      try {
        const user = `absolute-${prefix}`;
        const agent = request.agent(strict.server);
        const started = Date.now();
        const sid = sessionIdOf(await logIn(agent, user))!;
        let endedAfter: number | undefined;
        while (Date.now() - started < 4000) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          const page = await agent.get('/login/').expect(200);
          if (greeting(page.text) === '') {
            endedAfter = Date.now() - started;
            break;
          }
        }
        expect(endedAfter).toBeGreaterThanOrEqual(2000);
        expect(endedAfter).toBeLessThan(2000 + 300 + 1500);
        expect(await strict.store.backend.load(sid)).toBeNull();
        expect(await strict.app.get(UserSessions).list(user)).toEqual([]);
      } finally {
        await strict.close();
      }
    });

    it('drops a session that expired from the list', async () => {
      const short = await createTestApp({
        ...setup.env,
        SESSION_KEY_PREFIX: prefix,
        SESSION_LIFETIME: '2',
        SESSION_TOUCH_AFTER: '0',
      });
      try {
        const user = `expiry-${prefix}`;
        const agent = request.agent(short.server);
        await logIn(agent, user);
        const shortUsers = short.app.get(UserSessions);
        expect(await shortUsers.list(user)).toHaveLength(1);
        await new Promise((resolve) => setTimeout(resolve, 3100));
        expect(await shortUsers.list(user)).toEqual([]);
      } finally {
        await short.close();
      }
    });
  });
});
