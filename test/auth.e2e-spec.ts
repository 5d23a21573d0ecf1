import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestApp, TEST_SECRET, type TestApp } from './utils/test-app.js';
import {
  csrfTokenFrom,
  greeting,
  logIn,
  sessionIdOf,
  setCookie,
} from './utils/session-http.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreSetup,
} from './utils/store-cases.js';
import type { StoreProbe } from './utils/store-probes.js';

const LIFETIME = 600;

/** A validly signed session cookie for `sid`, as express-session would send it. */
function signedCookie(sid: string, secret = TEST_SECRET): string {
  const signature = createHmac('sha256', secret)
    .update(sid)
    .digest('base64')
    .replace(/=+$/, '');
  return `session=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

describeEachStore('login flow on the store:', (store) => {
  const prefix = uniquePrefix();
  let setup: StoreSetup;
  let t: TestApp;
  let probe: StoreProbe;

  beforeAll(async () => {
    setup = await store.setUp();
    t = await createTestApp({
      ...setup.env,
      SESSION_KEY_PREFIX: prefix,
      SESSION_LIFETIME: String(LIFETIME),
    });
    probe = setup.probe(prefix, () => t.store);
  });

  afterAll(async () => {
    await probe?.close();
    await t?.close();
    await setup?.tearDown();
  });

  it('GET /login/ shows an empty greeting, the form and a CSRF field, and stores nothing', async () => {
    const res = await request(t.server)
      .get('/login/')
      .expect(200)
      .expect('Content-Type', /html/);
    expect(greeting(res.text)).toBe('');
    expect(res.text).toMatch(/<form method="post" action="\/login\/">/);
    expect(res.text).toMatch(/<input[^>]+name="username"/);
    expect(res.text).toMatch(
      /<input type="hidden" name="_csrf" value="[^"]+">/,
    );
    expect(setCookie(res, 'session')).toBeUndefined();
    expect(await probe.keys()).toEqual([]);
  });

  it('POST /login/ stores the name under prefix + sid and redirects back', async () => {
    const agent = request.agent(t.server);
    const res = await logIn(agent, 'alice');
    expect(res.headers.location).toBe('/login/');
    const sid = sessionIdOf(res);
    expect(sid).toBeDefined();
    const cookie = setCookie(res, 'session')!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).not.toMatch(/; Secure/);
    const expires = new Date(/Expires=([^;]+)/.exec(cookie)![1]).getTime();
    expect(Math.abs(expires - (Date.now() + LIFETIME * 1000))).toBeLessThan(
      5000,
    );

    const stored = await probe.read(prefix + sid);
    expect(stored).toMatchObject({ username: 'alice' });
    const ttl = await probe.ttlSeconds(prefix + sid);
    expect(ttl).toBeGreaterThan(LIFETIME - 5);
    expect(ttl).toBeLessThanOrEqual(LIFETIME);

    const page = await agent.get('/login/').expect(200);
    expect(greeting(page.text)).toBe('alice');
  });

  it('gives a new session id at login and destroys the old one', async () => {
    const agent = request.agent(t.server);
    const first = sessionIdOf(await logIn(agent, 'bob'))!;
    const second = sessionIdOf(await logIn(agent, 'carol'))!;
    expect(second).not.toBe(first);
    expect(await probe.read(prefix + first)).toBeNull();
    expect(await probe.read(prefix + second)).toMatchObject({
      username: 'carol',
    });
  });

  it('ignores a session id planted before login (no fixation)', async () => {
    const victim = request.agent(t.server);
    const planted = 'plantedsessionid0123456789abcdef';
    victim.jar.setCookie(`${signedCookie(planted)}; Path=/`, '127.0.0.1', '/');
    const res = await logIn(victim, 'dave');
    expect(sessionIdOf(res)).not.toBe(planted);
    expect(await probe.read(prefix + planted)).toBeNull();
  });

  it('escapes the user name in the page', async () => {
    const agent = request.agent(t.server);
    await logIn(agent, '<script>alert("x")</script>&');
    const page = await agent.get('/login/').expect(200);
    expect(greeting(page.text)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;',
    );
  });

  it.each([
    ['missing', {}],
    ['blank', { username: '   ' }],
    ['over 64 characters', { username: 'é'.repeat(65) }],
  ])(
    'answers 400 with the form and a reason when the name is %s',
    async (_case, fields) => {
      const agent = request.agent(t.server);
      const token = await csrfTokenFrom(agent);
      const keysBefore = (await probe.keys()).toSorted();
      const res = await agent
        .post('/login/')
        .type('form')
        .send({ ...fields, _csrf: token })
        .expect(400);
      expect(res.text).toMatch(/<form method="post" action="\/login\/">/);
      expect(res.text).toMatch(/class="error"/);
      expect((await probe.keys()).toSorted()).toEqual(keysBefore);
    },
  );

  it('accepts a name of exactly 64 characters', async () => {
    const agent = request.agent(t.server);
    await logIn(agent, '名'.repeat(64));
    expect(greeting((await agent.get('/login/')).text)).toBe('名'.repeat(64));
  });

  it('refuses a login with a missing, wrong or borrowed CSRF token (403)', async () => {
    const agent = request.agent(t.server);
    const token = await csrfTokenFrom(agent);
    await agent
      .post('/login/')
      .type('form')
      .send({ username: 'eve' })
      .expect(403);
    await agent
      .post('/login/')
      .type('form')
      .send({ username: 'eve', _csrf: `${token}x` })
      .expect(403);
    const other = request.agent(t.server);
    await csrfTokenFrom(other);
    await other
      .post('/login/')
      .type('form')
      .send({ username: 'eve', _csrf: token })
      .expect(403);
    await request(t.server)
      .post('/login/')
      .type('form')
      .send({ username: 'eve', _csrf: token })
      .expect(403);
    expect(await probe.keys()).not.toContainEqual(
      expect.stringContaining('eve'),
    );
  });

  it('refuses a body that is not a form (4xx)', async () => {
    const agent = request.agent(t.server);
    const token = await csrfTokenFrom(agent);
    const json = await agent
      .post('/login/')
      .send({ username: 'frank', _csrf: token });
    expect(json.status).toBe(415);
    const text = await agent
      .post('/login/')
      .type('text/plain')
      .send(`username=frank&_csrf=${token}`);
    expect(text.status).toBeGreaterThanOrEqual(400);
    expect(text.status).toBeLessThan(500);
  });

  it('POST /logout/ destroys the stored session and expires the cookie', async () => {
    const agent = request.agent(t.server);
    const sid = sessionIdOf(await logIn(agent, 'grace'))!;
    const token = await csrfTokenFrom(agent);
    const res = await agent
      .post('/logout/')
      .type('form')
      .send({ _csrf: token })
      .expect(302);
    expect(res.headers.location).toBe('/login/');
    expect(setCookie(res, 'session')).toMatch(
      /Expires=Thu, 01 Jan 1970 00:00:00 GMT/,
    );
    expect(await probe.read(prefix + sid)).toBeNull();
    expect(greeting((await agent.get('/login/')).text)).toBe('');
  });

  it('refuses a logout without a valid CSRF token (403) and keeps the session', async () => {
    const agent = request.agent(t.server);
    const sid = sessionIdOf(await logIn(agent, 'heidi'))!;
    await agent.post('/logout/').type('form').send({}).expect(403);
    await agent
      .post('/logout/')
      .type('form')
      .send({ _csrf: 'nope' })
      .expect(403);
    expect(await probe.read(prefix + sid)).toMatchObject({
      username: 'heidi',
    });
  });

  it.each([
    ['tampered', () => signedCookie('abc').replace(/.$/, 'x')],
    ['unknown', () => signedCookie('unknownsessionid000000000000000')],
    ['malformed', () => 'session=%E0%A4%A;%%'],
    ['unsigned', () => 'session=justsomeid'],
  ])(
    'treats a %s session cookie as anonymous and writes nothing',
    async (_case, cookie) => {
      const keysBefore = (await probe.keys()).toSorted();
      const res = await request(t.server)
        .get('/login/')
        .set('Cookie', cookie())
        .expect(200);
      expect(greeting(res.text)).toBe('');
      expect(setCookie(res, 'session')).toBeUndefined();
      expect((await probe.keys()).toSorted()).toEqual(keysBefore);
    },
  );

  it('answers a body over 100 kB with 413 and keeps serving', async () => {
    await request(t.server)
      .post('/login/')
      .type('form')
      .send(`username=${'a'.repeat(101 * 1024)}`)
      .expect(413);
    await request(t.server).get('/login/').expect(200);
  });

  it('serves the paths without their trailing slash', async () => {
    const agent = request.agent(t.server);
    const res = await agent.get('/login').expect(200);
    const token = /name="_csrf" value="([^"]+)"/.exec(res.text)![1];
    await agent
      .post('/login')
      .type('form')
      .send({ username: 'ivan', _csrf: token })
      .expect(302);
    const page = await agent.get('/login').expect(200);
    expect(greeting(page.text)).toBe('ivan');
    const logoutToken = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    await agent
      .post('/logout')
      .type('form')
      .send({ _csrf: logoutToken })
      .expect(302);
  });

  it(`GET /health reports the ${store.type} store`, async () => {
    const res = await request(t.server).get('/health').expect(200);
    expect(res.body).toEqual({
      status: 'ok',
      store: { type: store.type, ok: true, ...store.health },
    });
  });
});
