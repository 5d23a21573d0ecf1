/** The demo's "where you're logged in" page: GET /sessions/ and its two forms. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { csrfTokenFrom, greeting, logIn } from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX =
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';

describe('GET /sessions/ and ending sessions from it', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ SESSION_TYPE: 'memory' });
  });

  afterAll(async () => {
    await t?.close();
  });

  async function browser(userAgent: string, username?: string) {
    const agent = request.agent(t.server);
    agent.set('User-Agent', userAgent);
    if (username) await logIn(agent, username);
    return agent;
  }

  /** The handles of the page's "End session" forms, in order. */
  const handlesIn = (html: string) =>
    [...html.matchAll(/name="handle" value="([^"]+)"/g)].map((m) => m[1]);

  it('sends an anonymous visitor to the login page', async () => {
    const res = await request(t.server).get('/sessions/').expect(302);
    expect(res.headers.location).toBe('/login/');
  });

  it('is linked from the login page once logged in', async () => {
    const agent = await browser(CHROME, 'linda');
    const page = await agent.get('/login/').expect(200);
    expect(page.text).toContain('href="/sessions/"');
    const anonymous = await request(t.server).get('/login/').expect(200);
    expect(anonymous.text).not.toContain('href="/sessions/"');
  });

  it('lists the user’s devices by browser and OS, marks this one, and ends another at once', async () => {
    const laptop = await browser(CHROME, 'mei');
    const phone = await browser(FIREFOX, 'mei');
    const page = await phone.get('/sessions/').expect(200);
    expect(page.text).toContain('Chrome 126 on Windows 10');
    expect(page.text).toMatch(
      /Firefox 127 on Linux\s*<strong>\(this device\)<\/strong>/,
    );
    expect(page.text).toMatch(/just now/);
    const handles = handlesIn(page.text);
    expect(handles).toHaveLength(1);

    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    await phone
      .post('/sessions/revoke/')
      .type('form')
      .send({ _csrf: token, handle: handles[0] })
      .expect(302)
      .expect('Location', '/sessions/');
    expect(greeting((await laptop.get('/login/')).text)).toBe('');
    expect(greeting((await phone.get('/login/')).text)).toBe('mei');
    const after = await phone.get('/sessions/').expect(200);
    expect(after.text).not.toContain('Chrome 126');
  });

  it('answers 403 for a handle of someone else’s session, and for a missing CSRF token', async () => {
    const victim = await browser(CHROME, 'victor');
    const victimHandles = handlesIn(
      (await (await browser(FIREFOX, 'victor')).get('/sessions/')).text,
    );
    const attacker = await browser(FIREFOX, 'mallory');
    const token = await csrfTokenFrom(attacker);
    await attacker
      .post('/sessions/revoke/')
      .type('form')
      .send({ _csrf: token, handle: victimHandles[0] })
      .expect(403);
    await attacker
      .post('/sessions/revoke/')
      .type('form')
      .send({ handle: victimHandles[0] })
      .expect(403);
    expect(greeting((await victim.get('/login/')).text)).toBe('victor');
  });

  it('logs out everywhere else', async () => {
    const others = [
      await browser(CHROME, 'olga'),
      await browser(CHROME, 'olga'),
    ];
    const here = await browser(FIREFOX, 'olga');
    const token = await csrfTokenFrom(here, '/sessions/');
    await here
      .post('/sessions/revoke-others/')
      .type('form')
      .send({ _csrf: token })
      .expect(302);
    for (const other of others)
      expect(greeting((await other.get('/login/')).text)).toBe('');
    const page = await here.get('/sessions/').expect(200);
    expect(handlesIn(page.text)).toEqual([]);
    expect(page.text).not.toContain('Log out everywhere else');
  });
});
