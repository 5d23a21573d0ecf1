import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { setCookie, setCookies } from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const EXPIRED = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT';

/** The guide's cookie demo: cookies set and deleted through the response, kept by the browser. */
describe('cookie demo', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ SESSION_TYPE: 'memory' });
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('GET /setcookie/', () => {
    it('sets the guide cookie name=cocoococo for the whole site', async () => {
      const res = await request(t.server)
        .get('/setcookie/')
        .expect(200)
        .expect('Content-Type', /html/);
      expect(setCookies(res)).toEqual(['name=cocoococo; Path=/']);
      expect(res.text).toContain('cocoococo');
    });

    it('sets the cookie the query names, with Max-Age from max_age', async () => {
      const res = await request(t.server)
        .get('/setcookie/?key=flavour&value=oat%20%26%20raisin&max_age=60')
        .expect(200);
      const line = setCookie(res, 'flavour')!;
      expect(line).toMatch(/^flavour=oat%20%26%20raisin; /);
      expect(line).toMatch(/; Max-Age=60(;|$)/);
      expect(line).toMatch(/; Path=\//);
      expect(res.text).toContain('oat &amp; raisin');
    });

    it('makes a browser-session cookie without max_age', async () => {
      const res = await request(t.server)
        .get('/setcookie/?key=plain&value=1')
        .expect(200);
      expect(setCookie(res, 'plain')).toBe('plain=1; Path=/');
    });

    it.each([
      ['a negative max_age', '?max_age=-1', /max_age/],
      ['a non-numeric max_age', '?max_age=soon', /max_age/],
      ['a key that is no cookie name', '?key=a%20b', /key/],
      ['the session cookie', '?key=session&value=x', /reserved/],
      ['the CSRF cookie', '?key=csrf&value=x', /reserved/],
      ['a __Host- cookie', '?key=__Host-x&value=x', /reserved/],
      ['a repeated key', '?key=a&key=b', /key/],
    ])('answers 400 with a reason for %s', async (_case, query, reason) => {
      const res = await request(t.server)
        .get(`/setcookie/${query}`)
        .set('Accept', 'application/json')
        .expect(400);
      expect(res.body.message).toMatch(reason);
      expect(setCookies(res)).toEqual([]);
    });

    it('shows a 400 as a page in the site layout to a browser', async () => {
      const res = await request(t.server)
        .get('/setcookie/?max_age=x')
        .expect(400)
        .expect('Content-Type', /html/);
      expect(res.text).toMatch(/<nav>/);
      expect(res.text).toContain('max_age');
    });
  });

  describe('GET /getcookie/', () => {
    it('shows the name cookie, HTML-escaped', async () => {
      const res = await request(t.server)
        .get('/getcookie/')
        .set('Cookie', `name=${encodeURIComponent('<b>"hi"</b>')}`)
        .expect(200);
      expect(res.text).toContain('&lt;b&gt;&quot;hi&quot;&lt;/b&gt;');
      expect(res.text).not.toContain('<b>"hi"</b>');
    });

    it('shows the cookie that ?key= names', async () => {
      const res = await request(t.server)
        .get('/getcookie/?key=flavour')
        .set('Cookie', 'name=x; flavour=oat')
        .expect(200);
      expect(res.text).toMatch(/<code class="cookie-value">oat<\/code>/);
    });

    it('says when there is no such cookie', async () => {
      const res = await request(t.server).get('/getcookie/').expect(200);
      expect(res.text).toMatch(/No cookie named <code>name<\/code>/);
    });

    it('never reads the session cookie out to the page', async () => {
      await request(t.server)
        .get('/getcookie/?key=session')
        .set('Cookie', 'session=s%3Asecret')
        .expect(400);
    });

    it('round-trips a cookie through a browser-like agent', async () => {
      const agent = request.agent(t.server);
      await agent.get('/setcookie/?key=fruit&value=%E6%A1%83').expect(200);
      const res = await agent.get('/getcookie/?key=fruit').expect(200);
      expect(res.text).toContain('桃');
    });
  });

  describe('GET /delcookie/', () => {
    it('expires the name cookie', async () => {
      const res = await request(t.server).get('/delcookie/').expect(200);
      const line = setCookie(res, 'name')!;
      expect(line).toMatch(/^name=; Path=\//);
      expect(line).toContain(EXPIRED);
    });

    it('expires the cookie that ?key= names, and a browser forgets it', async () => {
      const agent = request.agent(t.server);
      await agent.get('/setcookie/?key=temp&value=1').expect(200);
      const res = await agent.get('/delcookie/?key=temp').expect(200);
      expect(setCookie(res, 'temp')).toContain(EXPIRED);
      const after = await agent.get('/getcookie/?key=temp').expect(200);
      expect(after.text).toMatch(/No cookie named <code>temp<\/code>/);
    });
  });

  describe('limits that keep a visitor able to use the site', () => {
    const long = 'x'.repeat(3000);

    it("refuses the issue's links (3000 characters, max_age=9999999999) with a 400 that says why", async () => {
      const res = await request(t.server)
        .get(`/setcookie/?key=k0&value=${long}&max_age=9999999999`)
        .set('Accept', 'application/json')
        .expect(400);
      expect(res.body.message).toMatch(/^max_age: at most 34560000 seconds/);
      expect(setCookies(res)).toEqual([]);
    });

    it('sets two 3000-character cookies, refuses a third with the reason and a way out, and the visitor can still clear them', async () => {
      const agent = request.agent(t.server);
      for (const key of ['k0', 'k1'])
        await agent
          .get(`/setcookie/?key=${key}&value=${long}&max_age=60`)
          .expect(200);
      const third = await agent
        .get(`/setcookie/?key=k2&value=${long}&max_age=60`)
        .set('Accept', 'application/json')
        .expect(400);
      expect(third.body.message).toMatch(
        /^cookies too large: .* 9013 bytes .* \/delcookie\/\?all$/,
      );
      expect(setCookies(third)).toEqual([]);
      const cleared = await agent.get('/delcookie/?all').expect(200);
      expect(setCookies(cleared).map((line) => line.split('=')[0])).toEqual([
        'k0',
        'k1',
      ]);
      const after = await agent.get('/getcookie/?key=k0').expect(200);
      expect(after.text).toMatch(/No cookie named <code>k0<\/code>/);
    });

    it('refuses an 11th cookie', async () => {
      const cookies = Array.from({ length: 10 }, (_, i) => `c${i}=1`);
      const res = await request(t.server)
        .get('/setcookie/?key=c10&value=1')
        .set('Cookie', cookies.join('; '))
        .set('Accept', 'application/json')
        .expect(400);
      expect(res.body.message).toMatch(/^too many cookies: .* at most 10 /);
    });

    /** Six 3000-character cookies, as older versions set, beside the app's own. */
    const oversized = [
      ...Array.from({ length: 6 }, (_, i) => `k${i}=${long}`),
      'session=s%3Aabc.def',
      'csrf=token',
    ].join('; ');

    it("lets a visitor whose Cookie header is past Node's 16 KB default reach /delcookie/?all, which clears the demo cookies only", async () => {
      expect(oversized.length).toBeGreaterThan(16 * 1024);
      const res = await request(t.server)
        .get('/delcookie/?all')
        .set('Cookie', oversized)
        .expect(200);
      const cleared = setCookies(res);
      expect(cleared.map((line) => line.split('=')[0])).toEqual([
        'k0',
        'k1',
        'k2',
        'k3',
        'k4',
        'k5',
      ]);
      for (const line of cleared) expect(line).toContain(EXPIRED);
      expect(res.text).toMatch(/Cookies deleted: <code>k0<\/code>/);
    });

    it('serves the other pages to that visitor too', async () => {
      await request(t.server)
        .get('/login/')
        .set('Cookie', oversized)
        .expect(200);
    });

    it("still answers 431 to a request head past the app's 32 KB", async () => {
      await request(t.server)
        .get('/delcookie/?all')
        .set('Cookie', `k=${'x'.repeat(33 * 1024)}`)
        .expect(431);
    });
  });

  it.each(['/setcookie', '/getcookie', '/delcookie'])(
    'serves %s without the trailing slash',
    async (path) => {
      await request(t.server).get(path).expect(200);
    },
  );

  it('never writes a cookie demo request to the session store', async () => {
    const agent = request.agent(t.server);
    await agent.get('/setcookie/').expect(200);
    await agent.get('/getcookie/').expect(200);
    await agent.get('/delcookie/').expect(200);
    const count = await new Promise<number>((resolve, reject) =>
      t.store.store.length!((err, n) =>
        err ? reject(err as Error) : resolve(n ?? -1),
      ),
    );
    expect(count).toBe(0);
  });
});
