import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
} from '@jest/globals';
import request from 'supertest';
import {
  csrfTokenFrom,
  greeting,
  logIn,
  sessionIdOf,
  setCookie,
} from './utils/session-http.js';
import { SHARED_REDIS_URL, uniquePrefix } from './utils/store-cases.js';
import { redisProbe } from './utils/store-probes.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

/** Whether the signed cookie value `s:<sid>.<sig>` was signed with `secret`. */
function signedWith(res: request.Response, secret: string): boolean {
  const line = setCookie(res, 'session')!;
  const value = decodeURIComponent(line.slice('session='.length).split(';')[0]);
  const [sid, signature] = value.slice(2).split('.');
  return (
    createHmac('sha256', secret)
      .update(sid)
      .digest('base64')
      .replace(/=+$/, '') === signature
  );
}

describe('safety defaults', () => {
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>) => {
    const t = await createTestApp(env);
    apps.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
  });

  it('sends helmet headers and no X-Powered-By', async () => {
    const t = await start({ SESSION_TYPE: 'memory' });
    const res = await request(t.server).get('/login/').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toMatch(
      /default-src 'self'/,
    );
    expect(res.headers['content-security-policy']).not.toMatch(
      /upgrade-insecure-requests/,
    );
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('in production behind a TLS proxy, marks the session and CSRF cookies Secure', async () => {
    const t = await start({
      SESSION_TYPE: 'memory',
      NODE_ENV: 'production',
      TRUST_PROXY: '1',
    });
    // Sent by hand: supertest's cookie jar, like a browser, keeps Secure cookies off plain HTTP.
    const page = await request(t.server)
      .get('/login/')
      .set('X-Forwarded-Proto', 'https')
      .expect(200);
    const csrfCookie = setCookie(page, '__Host-csrf')!;
    expect(csrfCookie).toMatch(/; Secure/);
    expect(page.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(page.headers['content-security-policy']).toMatch(
      /upgrade-insecure-requests/,
    );
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    const res = await request(t.server)
      .post('/login/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', csrfCookie.split(';')[0])
      .type('form')
      .send({ username: 'alice', _csrf: token })
      .expect(302);
    const cookie = setCookie(res, 'session')!;
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
  });

  it('in production without a trusted proxy, never sends the Secure session cookie over plain HTTP', async () => {
    const t = await start({ SESSION_TYPE: 'memory', NODE_ENV: 'production' });
    const page = await request(t.server)
      .get('/login/')
      .set('X-Forwarded-Proto', 'https')
      .expect(200);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    const res = await request(t.server)
      .post('/login/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', setCookie(page, '__Host-csrf')!.split(';')[0])
      .type('form')
      .send({ username: 'alice', _csrf: token })
      .expect(302);
    expect(setCookie(res, 'session')).toBeUndefined();
  });

  it('takes the cookie name and SameSite from the environment', async () => {
    const t = await start({
      SESSION_TYPE: 'memory',
      SESSION_COOKIE_NAME: 'sid',
      SESSION_COOKIE_SAMESITE: 'Strict',
    });
    const res = await logIn(request.agent(t.server), 'alice');
    expect(setCookie(res, 'sid')).toMatch(/; SameSite=Strict/);
    expect(setCookie(res, 'session')).toBeUndefined();
  });

  it('re-sends the cookie with a fresh expiry on each visit that refreshes the store expiry (every visit with SESSION_TOUCH_AFTER=0)', async () => {
    const t = await start({
      SESSION_TYPE: 'memory',
      SESSION_LIFETIME: '3600',
      SESSION_TOUCH_AFTER: '0',
    });
    const agent = request.agent(t.server);
    await logIn(agent, 'alice');
    for (let visit = 0; visit < 2; visit++) {
      const res = await agent.get('/login/').expect(200);
      const expires = new Date(
        /Expires=([^;]+)/.exec(setCookie(res, 'session')!)![1],
      ).getTime();
      expect(Math.abs(expires - (Date.now() + 3600 * 1000))).toBeLessThan(5000);
    }
  });

  it('sends no cookie on a visit that refreshes nothing, and one once SESSION_TOUCH_AFTER has passed: cookie and store entry end together', async () => {
    const t = await start({
      SESSION_TYPE: 'memory',
      SESSION_LIFETIME: '3600',
      SESSION_TOUCH_AFTER: '1',
    });
    const agent = request.agent(t.server);
    await logIn(agent, 'alice');
    const soon = await agent.get('/login/').expect(200);
    expect(greeting(soon.text)).toBe('alice');
    expect(setCookie(soon, 'session')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const later = await agent.get('/login/').expect(200);
    expect(setCookie(later, 'session')).toMatch(/Expires=/);
  });

  it('runs the same login flow with the session layer on every request (SESSION_SKIP_ANONYMOUS_READS=false)', async () => {
    const t = await start({
      SESSION_TYPE: 'memory',
      SESSION_SKIP_ANONYMOUS_READS: 'false',
    });
    const agent = request.agent(t.server);
    const anonymous = await agent.get('/login/').expect(200);
    expect(setCookie(anonymous, 'session')).toBeUndefined();
    await logIn(agent, 'alice');
    expect(greeting((await agent.get('/login/')).text)).toBe('alice');
    const token = await csrfTokenFrom(agent);
    await agent
      .post('/logout/')
      .type('form')
      .send({ _csrf: token })
      .expect(302);
    expect(greeting((await agent.get('/login/')).text)).toBe('');
  });

  it('answers unknown routes 404 in the layout, or as JSON when asked', async () => {
    const t = await start({ SESSION_TYPE: 'memory' });
    const html = await request(t.server)
      .get('/nowhere')
      .expect(404)
      .expect('Content-Type', /html/);
    expect(html.text).toMatch(/<nav>/);
    const json = await request(t.server)
      .get('/nowhere')
      .set('Accept', 'application/json')
      .expect(404);
    expect(json.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('answers an oversized JSON body 413 too', async () => {
    const t = await start({ SESSION_TYPE: 'memory' });
    await request(t.server)
      .post('/login/')
      .set('Accept', 'application/json')
      .send({ username: 'a'.repeat(150 * 1024) })
      .expect(413);
  });
});

describe('SESSION_PERMANENT=false on Redis', () => {
  const prefix = uniquePrefix();
  const probe = redisProbe(SHARED_REDIS_URL, prefix);
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      SESSION_TYPE: 'redis',
      REDIS_URL: SHARED_REDIS_URL,
      SESSION_KEY_PREFIX: prefix,
      SESSION_PERMANENT: 'false',
      SESSION_LIFETIME: '900',
    });
  });
  afterAll(async () => {
    await probe.close();
    await t?.close();
  });

  it('sends a browser-session cookie but still expires the store entry after the lifetime', async () => {
    const res = await logIn(request.agent(t.server), 'alice');
    const cookie = setCookie(res, 'session')!;
    expect(cookie).not.toMatch(/Expires=|Max-Age=/i);
    const ttl = await probe.ttlSeconds(prefix + sessionIdOf(res)!);
    expect(ttl).toBeGreaterThan(895);
    expect(ttl).toBeLessThanOrEqual(900);
  });
});

describe('secret rotation', () => {
  const databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'rotation-')), 'sessions.sqlite')}`;
  const env = (secret: string) => ({
    SESSION_TYPE: 'sql',
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: secret,
  });
  let cookie: string;

  it('signs with the first secret', async () => {
    const t = await createTestApp(env('old'));
    const res = await logIn(request.agent(t.server), 'alice');
    expect(signedWith(res, 'old')).toBe(true);
    cookie = setCookie(res, 'session')!.split(';')[0];
    await t.close();
  });

  it('keeps sessions signed with a later secret in the list, and signs new ones with the first', async () => {
    // A refresh on every visit, so this one re-sends (and re-signs) the cookie.
    const t = await createTestApp({
      ...env('new,old'),
      SESSION_TOUCH_AFTER: '0',
    });
    const page = await request(t.server)
      .get('/login/')
      .set('Cookie', cookie)
      .expect(200);
    expect(greeting(page.text)).toBe('alice');
    expect(signedWith(page, 'new')).toBe(true);
    await t.close();
  });

  it('drops sessions whose secret was removed', async () => {
    const t = await createTestApp(env('new'));
    const page = await request(t.server)
      .get('/login/')
      .set('Cookie', cookie)
      .expect(200);
    expect(greeting(page.text)).toBe('');
    await t.close();
  });

  it("accepts SECRET_KEY, the guide's name, as the secret", async () => {
    const t = await createTestApp({
      SESSION_TYPE: 'sql',
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: '',
      SECRET_KEY: 'old',
    });
    const page = await request(t.server)
      .get('/login/')
      .set('Cookie', cookie)
      .expect(200);
    expect(greeting(page.text)).toBe('alice');
    const token = await csrfTokenFrom(request.agent(t.server));
    expect(token).toBeTruthy();
    await t.close();
  });
});
