/**
 * The Nest docs' passport recipe (passport-local, login sessions) on every store's real server,
 * with passport mounted by SessionModule's `afterSession` and anonymous reads skipping the
 * session layer. Covers issue #9 rows 11 (500 "Login sessions require session support") and
 * 12 (a login while the store is down: a cookie for a session never saved, a second write).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import passport from 'passport';
import request from 'supertest';
import {
  SESSION_STORE,
  SessionModule,
  sessionOptionsFromEnv,
  type Env,
  type SessionStoreHandle,
} from 'nest-server-session';
import {
  LocalStrategy,
  PASSWORD,
  PassportTestController,
  SessionSerializer,
  USERNAME,
} from './utils/passport-fixture.js';
import { sessionIdOf, setCookie } from './utils/session-http.js';
import { storeServerOf } from './utils/store-address.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreSetup,
} from './utils/store-cases.js';
import { forward, type TcpProxy } from './utils/tcp-proxy.js';

/** Store deadline of the outage tests: one write attempt takes this long when the store stalls. */
const TIMEOUT_MS = 1000;

interface PassportApp {
  server: Server;
  store: SessionStoreHandle;
  close(): Promise<void>;
}

/** A Nest app as the docs build it, its session store configured from `env`. */
async function createPassportApp(env: Env): Promise<PassportApp> {
  const { options } = sessionOptionsFromEnv({
    SESSION_SECRET: 'passport-e2e',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        ...options,
        skipAnonymousReads: true,
        afterSession: [passport.initialize(), passport.session()],
      }),
      PassportModule.register({ session: true }),
    ],
    controllers: [PassportTestController],
    providers: [LocalStrategy, SessionSerializer],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({
    logger: false,
  });
  await app.init();
  return {
    server: app.getHttpServer() as Server,
    store: app.get<SessionStoreHandle>(SESSION_STORE),
    close: () => app.close(),
  };
}

/** The `session=...` pair of a login's Set-Cookie, as a browser sends it back. */
function cookieOf(res: request.Response): string {
  const line = setCookie(res, 'session');
  expect(line).toBeDefined();
  return line!.split(';')[0];
}

describeEachStore('passport (Nest docs recipe) on', (store) => {
  const prefix = uniquePrefix();
  let setup: StoreSetup;
  let t: PassportApp;

  beforeAll(async () => {
    setup = await store.setUp();
    t = await createPassportApp({ ...setup.env, SESSION_KEY_PREFIX: prefix });
  });

  afterAll(async () => {
    await t?.close();
    await setup?.tearDown();
  });

  const logIn = (password = PASSWORD, cookie?: string) => {
    const req = request(t.server).post('/auth/login');
    if (cookie) req.set('Cookie', cookie);
    return req.send({ username: USERNAME, password });
  };
  const me = (cookie?: string) => {
    const req = request(t.server).get('/auth/me');
    return cookie ? req.set('Cookie', cookie) : req;
  };
  const isStored = async (sid: string) =>
    (await t.store.backend.load(sid)) !== null;

  it('answers an anonymous GET without a session cookie: not authenticated, no session, no 500', async () => {
    const res = await request(t.server).get('/auth/public').expect(200);
    expect(res.body).toEqual({ authenticated: false });
    expect(setCookie(res, 'session')).toBeUndefined();
    await me().expect(403);
  });

  it('logs in: 201 with the user, a session cookie, the user stored in the session', async () => {
    const res = await logIn().expect(201);
    expect(res.body).toEqual({ id: 1, username: USERNAME });
    const sid = sessionIdOf(res)!;
    expect(await t.store.backend.load(sid)).toMatchObject({
      session: { passport: { user: { id: 1, username: USERNAME } } },
    });
    const profile = await me(cookieOf(res)).expect(200);
    expect(profile.body).toEqual({ id: 1, username: USERNAME });
  });

  it('moves the visitor to a new session id at login, and ends the old one', async () => {
    const first = await logIn().expect(201);
    const firstSid = sessionIdOf(first)!;
    const second = await logIn(PASSWORD, cookieOf(first)).expect(201);
    const secondSid = sessionIdOf(second)!;
    expect(secondSid).toBeDefined();
    expect(secondSid).not.toBe(firstSid);
    expect(await isStored(firstSid)).toBe(false);
    await me(cookieOf(first)).expect(403);
    await me(cookieOf(second)).expect(200);
  });

  it('logs out: the session ends, its cookie no longer authenticates', async () => {
    const login = await logIn().expect(201);
    const cookie = cookieOf(login);
    await request(t.server)
      .post('/auth/logout')
      .set('Cookie', cookie)
      .expect(201, { loggedOut: true });
    expect(await isStored(sessionIdOf(login)!)).toBe(false);
    await me(cookie).expect(403);
  });

  it('answers a wrong password 401, with no session cookie', async () => {
    const res = await logIn('wrong').expect(401);
    expect(setCookie(res, 'session')).toBeUndefined();
  });

  it.each([
    ['garbage', 'session=garbage'],
    ['a badly signed id', 'session=s%3AQ2lzVc5sCq4vJd1zMd0mYbXXwHkzKkLp.bad'],
  ])(
    'answers a cookie of %s 403 from the authenticated guard',
    async (_case, cookie) => {
      const res = await me(cookie).expect(403);
      expect(setCookie(res, 'session')).toBeUndefined();
    },
  );

  const unreachableEnv = store.unreachableEnv;
  if (unreachableEnv && store.notBehindProxy)
    // oxlint-disable-next-line jest/no-disabled-tests, jest/expect-expect -- the name says why it cannot apply
    it.skip(`while the store stalls: not applicable, ${store.notBehindProxy}`, () => {});
  else if (unreachableEnv)
    describe('while the store stalls', () => {
      let proxy: TcpProxy;
      let stalled: PassportApp;

      beforeAll(async () => {
        const target = storeServerOf(setup.env);
        if (!target)
          throw new Error(`no server address in ${store.name}'s env`);
        proxy = await forward(0, target);
        stalled = await createPassportApp({
          ...setup.env,
          ...unreachableEnv(`127.0.0.1:${proxy.port}`),
          SESSION_KEY_PREFIX: prefix,
          SESSION_STORE_TIMEOUT_MS: String(TIMEOUT_MS),
        });
        // Through the proxy, the store works.
        await request(stalled.server)
          .post('/auth/login')
          .send({ username: USERNAME, password: PASSWORD })
          .expect(201);
        // Open connections swallow everything; new ones get nothing back before the deadline.
        proxy.delay(5 * TIMEOUT_MS);
        proxy.silenceOpenConnections();
      });

      afterAll(async () => {
        // First the proxy, so that the store's connections fail rather than hang its close.
        await proxy?.close();
        await stalled?.close();
      });

      it('answers a login 503 after one write attempt (one deadline, not two), with no cookie for the unsaved session', async () => {
        const started = Date.now();
        const res = await request(stalled.server)
          .post('/auth/login')
          .send({ username: USERNAME, password: PASSWORD });
        const ms = Date.now() - started;
        expect(res.status).toBe(503);
        expect(setCookie(res, 'session')).toBeUndefined();
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS);
        // A second write would wait out a second deadline.
        expect(ms).toBeLessThan(1.6 * TIMEOUT_MS);
      });
    });
});
