/**
 * Concurrent requests on one session, on every store's real server, through HTTP: the app
 * with test-only routes (test/utils/session-probe.controller.ts) beside the demo's. Part of
 * the conformance suite (its summary counts these under each store).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request, { type Response } from 'supertest';
import { SessionProbeController } from './utils/session-probe.controller.js';
import { logIn, sessionIdOf, setCookie } from './utils/session-http.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreSetup,
} from './utils/store-cases.js';
import type { StoreProbe } from './utils/store-probes.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

let gates = 0;

describeEachStore('conformance:', (store) => {
  describe('concurrent requests on one session', () => {
    const prefix = uniquePrefix();
    let setup: StoreSetup;
    let t: TestApp;
    let probe: StoreProbe;

    beforeAll(async () => {
      setup = await store.setUp();
      t = await createTestApp(
        {
          ...setup.env,
          SESSION_KEY_PREFIX: prefix,
          // Every request refreshes the store expiry, so every answer could carry a cookie:
          // the strictest setting for "no cookie for a session that is gone".
          SESSION_TOUCH_AFTER: '0',
        },
        { controllers: [SessionProbeController] },
      );
      probe = setup.probe(prefix, () => t.store);
    });

    afterAll(async () => {
      await probe?.close();
      await t?.close();
      await setup?.tearDown();
    });

    /** Logs a new browser in through the demo's form; its session cookie and id. */
    async function newBrowser(username = 'alice') {
      const agent = request.agent(t.server);
      const res = await logIn(agent, username);
      const sid = sessionIdOf(res)!;
      return { agent, sid, cookie: setCookie(res, 'session')!.split(';')[0] };
    }

    const post = (path: string, cookie: string) =>
      request(t.server).post(path).set('Cookie', cookie);
    const get = (path: string, cookie: string) =>
      request(t.server).get(path).set('Cookie', cookie);
    const sessionOf = async (cookie: string) =>
      (
        (await get('/test-session/read', cookie).expect(200)).body as {
          session: Record<string, unknown>;
        }
      ).session;
    const isStored = async (sid: string) =>
      (await t.store.backend.load(sid)) !== null;

    /**
     * Starts a slow request (`path` with a gate) and resolves once its handler runs, its session
     * loaded; `finish()` lets it go and gives its answer. So it finishes after whatever the test
     * does in between, however loaded the machine.
     */
    async function slowRequest(
      send: (path: string) => request.Test,
      path: string,
    ) {
      const gate = `g${++gates}`;
      const answer = (async () =>
        send(`${path}${path.includes('?') ? '&' : '?'}gate=${gate}`))();
      await request(t.server).get(`/test-session/arrived/${gate}`).expect(200);
      return {
        finish: async () => {
          await request(t.server)
            .post(`/test-session/open/${gate}`)
            .expect(201);
          return answer;
        },
      };
    }

    it('keeps all 50 keys that 50 concurrent requests set (handlers waiting 0-20 ms)', async () => {
      const { cookie } = await newBrowser();
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          post(`/test-session/set/k${i}?wait=${(i * 7) % 21}`, cookie),
        ),
      );
      expect(answers.map((res) => res.status)).toEqual(
        Array.from({ length: 50 }, () => 201),
      );
      const session = await sessionOf(cookie);
      const keys = Object.keys(session).filter((key) => /^k\d+$/.test(key));
      expect(keys).toHaveLength(50);
      expect(session.username).toBe('alice');
    });

    it('keeps a logout: a slow writer in flight does not bring the session back, and its answer sends no cookie (20 browsers at once)', async () => {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const { cookie, sid } = await newBrowser();
          const slow = await slowRequest(
            (path) => post(path, cookie),
            '/test-session/set/late',
          );
          await post('/test-session/logout', cookie).expect(201);
          const res = await slow.finish();
          expect(res.status).toBe(201);
          expect(setCookie(res, 'session')).toBeUndefined();
          expect(await isStored(sid)).toBe(false);
          expect(await sessionOf(cookie)).toEqual({});
        }),
      );
    });

    it('keeps a rotated id dead: logging in again while a slow writer holds the old id', async () => {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const { agent, cookie, sid } = await newBrowser();
          const slow = await slowRequest(
            (path) => post(path, cookie),
            '/test-session/set/late',
          );
          const again = await logIn(agent, 'alice');
          const newSid = sessionIdOf(again)!;
          expect(newSid).not.toBe(sid);
          const res = await slow.finish();
          expect(setCookie(res, 'session')).toBeUndefined();
          expect(await isStored(sid)).toBe(false);
          expect(await sessionOf(cookie)).toEqual({});
          expect((await t.store.backend.load(newSid))?.session).toMatchObject({
            username: 'alice',
          });
        }),
      );
    });

    it('counts 50 concurrent increments through the update API', async () => {
      const { cookie } = await newBrowser();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          post('/test-session/increment', cookie),
        ),
      );
      expect(answers.every((res) => res.status === 201)).toBe(true);
      const seen = answers.map((res) => (res.body as { n: number }).n);
      expect(new Set(seen).size).toBe(50);
      expect((await sessionOf(cookie)).n).toBe(50);
    });

    it('sends no cookie from a slow reader that finishes after the logout', async () => {
      const { cookie, sid } = await newBrowser();
      const slow = await slowRequest(
        (path) => get(path, cookie),
        '/test-session/read',
      );
      await post('/test-session/logout', cookie).expect(201);
      const res = await slow.finish();
      expect(res.status).toBe(200);
      expect(setCookie(res, 'session')).toBeUndefined();
      expect(await isStored(sid)).toBe(false);
    });

    it('ends 20 concurrent logins of one browser with exactly one live session', async () => {
      const { agent, sid } = await newBrowser();
      const token = /name="_csrf" value="([^"]+)"/.exec(
        (await agent.get('/login/').expect(200)).text,
      )![1];
      const before = store.enumerable ? new Set(await probe.keys()) : new Set();
      // The agent attaches the same cookies (session and CSRF) to all 20 before any answers.
      const answers: Response[] = await Promise.all(
        Array.from({ length: 20 }, () =>
          agent
            .post('/login/')
            .type('form')
            .send({ username: 'alice', _csrf: token }),
        ),
      );
      // The losers either lost the race to end the old session (302, no cookie), or found
      // it already ended, and with it the session their CSRF token was bound to (403).
      for (const res of answers) expect([302, 403]).toContain(res.status);
      const issued = answers.flatMap((res) => sessionIdOf(res) ?? []);
      expect(issued).toHaveLength(1);
      expect(await isStored(issued[0])).toBe(true);
      expect(await isStored(sid)).toBe(false);
      // Only where the store can list its keys (memcached cannot).
      if (store.enumerable) {
        const after = await probe.keys();
        // oxlint-disable-next-line jest/no-conditional-expect
        expect(after.filter((key) => !before.has(key))).toEqual([
          prefix + issued[0],
        ]);
        // oxlint-disable-next-line jest/no-conditional-expect
        expect(after).not.toContain(prefix + sid);
      }
    });

    it('finishes a conflict storm (200 updates of one key by 20 clients) with no error, no hang and the right count', async () => {
      const { cookie } = await newBrowser();
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let i = 0; i < 10; i++)
            await post('/test-session/increment', cookie).expect(201);
        }),
      );
      expect((await sessionOf(cookie)).n).toBe(200);
      expect(Date.now() - started).toBeLessThan(30_000);
    });
  });
});
