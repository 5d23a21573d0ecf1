import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from '@jest/globals';
import type { Page } from 'playwright-core';
import { CsrfService } from '../src/csrf/csrf.service.js';
import {
  RESOLVED_SESSION_OPTIONS,
  type ResolvedSessionOptions,
} from 'nest-server-session';
import {
  launchBrowser,
  submitAndFollow,
  type TestBrowser,
} from './utils/browser.js';
import { SessionProbeController } from './utils/session-probe.controller.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

/** Starting Chromium and a page load or two take seconds, not milliseconds. */
const BROWSER_TIMEOUT = 60_000;

/** `nav { background: #24292f }` in public/style.css: proof that the stylesheet was applied. */
const NAV_BACKGROUND = 'rgb(36, 41, 47)';

/** The page's `<h3>`: the greeting on /login/, the title on the cookie pages. */
function heading(page: Page): Promise<string | null> {
  return page.locator('main h3').textContent();
}

/** The nav bar's computed background: the stylesheet loaded and applied. */
function navBackground(page: Page): Promise<string> {
  return page
    .locator('nav')
    .evaluate((nav) => getComputedStyle(nav).backgroundColor);
}

/** The demo as a user sees it: Debian's Chromium against the app on a real port (SQLite store). */
describe('the demo in a real browser (Chromium)', () => {
  let b: TestBrowser;
  let t: TestApp;
  let base: string;
  let dataDir: string;
  let sessionCookie: string;
  let csrfCookie: string;

  beforeAll(async () => {
    b = await launchBrowser();
    dataDir = mkdtempSync(join(tmpdir(), 'browser-e2e-'));
    t = await createTestApp(
      {
        SESSION_TYPE: 'sql',
        DATABASE_URL: `sqlite:${join(dataDir, 'sessions.sqlite')}`,
      },
      // Test-only routes, for a slow request in flight in one tab.
      { controllers: [SessionProbeController] },
    );
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    sessionCookie = t.app.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS)
      .cookie.name;
    csrfCookie = t.app.get(CsrfService).cookieName;
  }, BROWSER_TIMEOUT);

  afterAll(async () => {
    // The browser first: its keep-alive connections would hold the server open.
    await b?.close();
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, BROWSER_TIMEOUT);

  // Each test starts as a new visitor, blamed only for what its own pages log.
  beforeEach(async () => {
    await b.context.clearCookies();
    b.takeProblems();
  });

  async function visit(path: string): Promise<void> {
    const res = await b.page.goto(base + path);
    expect(res?.status()).toBe(200);
  }

  /** Follows a link of the nav bar, as a user would. */
  async function clickNav(name: string, path: string): Promise<void> {
    const answer = b.page.waitForResponse(
      (res) => res.request().isNavigationRequest() && res.url() === base + path,
    );
    await b.page
      .getByRole('navigation')
      .getByRole('link', { name, exact: true })
      .click();
    expect((await answer).status()).toBe(200);
    await b.page.waitForLoadState('load');
  }

  /**
   * What went wrong in the page since the last call: console errors, page errors, failed loads
   * and CSP violations. The layout declares an empty icon, so not even /favicon.ico may 404.
   */
  function pageProblems(): string[] {
    return b.takeProblems();
  }

  async function cookieNames(): Promise<string[]> {
    return (await b.context.cookies(base)).map((c) => c.name);
  }

  it(
    'logs in as 小明 through the form, keeps the session across a reload, and logs out',
    async () => {
      const { page } = b;
      await visit('/login/');
      expect(await navBackground(page)).toBe(NAV_BACKGROUND);
      expect(await heading(page)).toBe('欢迎:');
      expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(
        0,
      );
      await b.screenshot('01-login-anonymous');

      await page.getByLabel('User name').fill('小明');
      await b.screenshot('02-login-filled');
      const login = await submitAndFollow(
        page,
        page.getByRole('button', { name: 'Log in' }),
      );
      expect(login.post.status()).toBe(302);
      expect(login.landed.status()).toBe(200);
      expect(page.url()).toBe(`${base}/login/`);
      expect(await heading(page)).toBe('欢迎:小明');
      await b.screenshot('03-login-xiaoming');

      expect((await page.reload())?.status()).toBe(200);
      expect(await heading(page)).toBe('欢迎:小明');
      await b.screenshot('04-login-after-reload');

      // Both cookies are there, and HttpOnly keeps them out of reach of page scripts.
      const cookies = await b.context.cookies(base);
      expect(cookies.find((c) => c.name === sessionCookie)).toMatchObject({
        httpOnly: true,
        sameSite: 'Lax',
      });
      expect(cookies.find((c) => c.name === csrfCookie)).toMatchObject({
        httpOnly: true,
      });
      const scriptCookies = await page.evaluate(() => document.cookie);
      expect(scriptCookies).not.toContain(`${sessionCookie}=`);
      expect(scriptCookies).not.toContain(`${csrfCookie}=`);

      const logout = await submitAndFollow(
        page,
        page.getByRole('button', { name: 'Log out' }),
      );
      expect(logout.post.status()).toBe(302);
      expect(logout.landed.status()).toBe(200);
      expect(page.url()).toBe(`${base}/login/`);
      expect(await heading(page)).toBe('欢迎:');
      expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(
        0,
      );
      await b.screenshot('05-logged-out');
      expect(await cookieNames()).not.toContain(sessionCookie);

      expect((await page.reload())?.status()).toBe(200);
      expect(await heading(page)).toBe('欢迎:');
      expect(pageProblems()).toEqual([]);
    },
    BROWSER_TIMEOUT,
  );

  it(
    'sets, reads and deletes the demo cookies, which page scripts can see',
    async () => {
      const { page } = b;
      await visit('/setcookie/');
      expect(await navBackground(page)).toBe(NAV_BACKGROUND);
      expect(await page.locator('.cookie-value').textContent()).toBe(
        'cocoococo',
      );
      await b.screenshot('06-setcookie');

      await clickNav('Get cookie', '/getcookie/');
      expect(await heading(page)).toBe('Get cookie');
      expect(await page.locator('.cookie-value').textContent()).toBe(
        'cocoococo',
      );
      expect(await page.evaluate(() => document.cookie)).toContain(
        'name=cocoococo',
      );
      await b.screenshot('07-getcookie');

      await visit('/setcookie/?key=flavour&value=oat&max_age=60');
      expect(await page.locator('.cookie-value').textContent()).toBe('oat');
      const flavour = (await b.context.cookies(base)).find(
        (c) => c.name === 'flavour',
      );
      expect(flavour?.value).toBe('oat');
      expect(
        Math.abs(flavour!.expires - (Date.now() / 1000 + 60)),
      ).toBeLessThan(10);
      await b.screenshot('08-setcookie-flavour');

      await visit('/getcookie/?key=flavour');
      expect(await page.locator('.cookie-value').textContent()).toBe('oat');
      await b.screenshot('09-getcookie-flavour');

      await clickNav('Delete cookie', '/delcookie/');
      expect(await page.locator('main p').first().textContent()).toBe(
        'Cookie name deleted.',
      );
      await b.screenshot('10-delcookie');
      expect(await cookieNames()).not.toContain('name');
      const scriptCookies = await page.evaluate(() => document.cookie);
      expect(scriptCookies).not.toContain('name=');
      expect(scriptCookies).toContain('flavour=oat');

      await clickNav('Get cookie', '/getcookie/');
      expect(await page.locator('main p').first().textContent()).toBe(
        'No cookie named name.',
      );
      expect(await page.locator('.cookie-value').count()).toBe(0);
      await b.screenshot('11-getcookie-deleted');
      expect(pageProblems()).toEqual([]);
    },
    BROWSER_TIMEOUT,
  );

  it(
    'shows markup in a name as text, and a blank name as an error in the page',
    async () => {
      const { page } = b;
      const name = '<img src="/x" onerror="document.title=1">';
      await visit('/login/');
      await page.getByLabel('User name').fill(name);
      const login = await submitAndFollow(
        page,
        page.getByRole('button', { name: 'Log in' }),
      );
      expect(login.landed.status()).toBe(200);
      expect(await heading(page)).toBe(`欢迎:${name}`);
      expect(await page.locator('main h3 img').count()).toBe(0);
      await b.screenshot('12-login-markup-name');

      // Spaces pass the field's `required`, so the server's own check answers.
      await page.getByLabel('User name').fill('   ');
      const answer = page.waitForResponse(
        (res) =>
          res.request().isNavigationRequest() &&
          res.request().method() === 'POST',
      );
      await page.getByRole('button', { name: 'Log in' }).click();
      expect((await answer).status()).toBe(400);
      await page.waitForLoadState('load');
      // Chromium logs any 4xx document; this one is the answer we asked for.
      expect(pageProblems()).toEqual([
        `console: Failed to load resource: the server responded with a status of 400 (Bad Request) (${base}/login/)`,
      ]);
      expect(await navBackground(page)).toBe(NAV_BACKGROUND);
      expect(await page.getByRole('alert').textContent()).toMatch(/\S/);
      expect(await heading(page)).toBe(`欢迎:${name}`);
      await b.screenshot('13-login-blank-name');

      const logout = await submitAndFollow(
        page,
        page.getByRole('button', { name: 'Log out' }),
      );
      expect(logout.landed.status()).toBe(200);
      expect(await heading(page)).toBe('欢迎:');
      expect(pageProblems()).toEqual([]);
    },
    BROWSER_TIMEOUT,
  );

  it(
    'stays logged out when one tab logs out while another tab has a request in flight',
    async () => {
      const { page } = b;
      await visit('/login/');
      await page.getByLabel('User name').fill('小明');
      await submitAndFollow(page, page.getByRole('button', { name: 'Log in' }));
      expect(await heading(page)).toBe('欢迎:小明');

      const other = await b.context.newPage();
      try {
        expect((await other.goto(base + '/login/'))?.status()).toBe(200);
        expect(await other.locator('main h3').textContent()).toBe('欢迎:小明');

        // A slow request of the first tab that writes to the session (an XHR saving a
        // preference), held at a gate of the test-only route until the second tab has logged
        // out: it finishes after the logout whatever the machine's load.
        const slowStatus = page.evaluate(() =>
          fetch('/test-session/set/theme?gate=tab&value=dark', {
            method: 'POST',
          }).then(async (res) => {
            await res.text();
            return res.status;
          }),
        );
        expect((await fetch(`${base}/test-session/arrived/tab`)).status).toBe(
          200,
        );
        const logout = await submitAndFollow(
          other,
          other.getByRole('button', { name: 'Log out' }),
        );
        expect(logout.post.status()).toBe(302);
        expect(await other.locator('main h3').textContent()).toBe('欢迎:');
        await fetch(`${base}/test-session/open/tab`, { method: 'POST' });
        expect(await slowStatus).toBe(201);

        expect((await page.reload())?.status()).toBe(200);
        expect(await heading(page)).toBe('欢迎:');
        expect(await cookieNames()).not.toContain(sessionCookie);
        await b.screenshot('14-logged-out-in-both-tabs');
        expect((await other.reload())?.status()).toBe(200);
        expect(await other.locator('main h3').textContent()).toBe('欢迎:');
        expect(pageProblems()).toEqual([]);
      } finally {
        await other.close();
      }
    },
    BROWSER_TIMEOUT,
  );

  it(
    'ends the session of another device from /sessions/: that device is logged out at once',
    async () => {
      const laptop = b;
      const phone = await launchBrowser({ clearScreenshots: false });
      try {
        for (const device of [laptop, phone]) {
          expect((await device.page.goto(base + '/login/'))?.status()).toBe(
            200,
          );
          await device.page.getByLabel('User name').fill('小明');
          await submitAndFollow(
            device.page,
            device.page.getByRole('button', { name: 'Log in' }),
          );
          expect(await device.page.locator('main h3').textContent()).toBe(
            '欢迎:小明',
          );
        }
        await phone.page.getByRole('link', { name: /your sessions/i }).click();
        await phone.page.waitForLoadState('load');
        expect(phone.page.url()).toBe(`${base}/sessions/`);
        const rows = phone.page.locator('table.sessions tbody tr');
        expect(await rows.count()).toBe(2);
        expect(await rows.filter({ hasText: 'this device' }).count()).toBe(1);
        await phone.screenshot('15-sessions-two-devices');

        const ended = await submitAndFollow(
          phone.page,
          rows.filter({ hasNotText: 'this device' }).getByRole('button', {
            name: 'End session',
          }),
        );
        expect(ended.post.status()).toBe(302);
        expect(await rows.count()).toBe(1);
        await phone.screenshot('16-sessions-other-ended');

        expect((await laptop.page.reload())?.status()).toBe(200);
        expect(await heading(laptop.page)).toBe('欢迎:');
        await laptop.screenshot('17-ended-device-logged-out');
        expect(pageProblems()).toEqual([]);
        expect(phone.takeProblems()).toEqual([]);
      } finally {
        await phone.close();
      }
    },
    BROWSER_TIMEOUT,
  );
});
