import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chromium,
  type BrowserContext,
  type Locator,
  type Page,
  type Response,
} from 'playwright-core';

/** Debian's Chromium; Playwright's own browser download does not work on our machines. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where the screenshots of the browser tests go (git-ignored). */
export const SCREENSHOT_DIR = resolve('test-artifacts/browser');

/** Headless flags that work as root in CI: no sandbox, no GPU, no traffic besides the app's. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /**
   * What went wrong in the page since the last call: console errors (CSP violations among them),
   * uncaught page errors, failed loads and 4xx/5xx answers to sub-resources.
   */
  takeProblems(): string[];
  /** Full-page screenshot as `test-artifacts/browser/<name>.png`. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts Chromium on a new, private profile (its own cookies: another device, as far as the app
 * can tell) and, unless told otherwise, empties the screenshot folder of the last run;
 * `close()` stops the browser and deletes the profile.
 */
export async function launchBrowser({
  clearScreenshots = true,
}: { clearScreenshots?: boolean } = {}): Promise<TestBrowser> {
  // A browser test that cannot run must fail, never skip: CI would go green without it.
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need Debian's Chromium: ` +
        'install the Debian package `chromium` (apt-get install -y chromium).',
    );
  }
  if (clearScreenshots)
    rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), 'chromium-e2e-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      viewport: { width: 1024, height: 640 },
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
    }
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) =>
    problems.push(`failed: ${req.url()} ${req.failure()?.errorText ?? ''}`),
  );
  // Documents are checked by the tests themselves (a 400 page can be the expected answer).
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.request().isNavigationRequest()) {
      problems.push(`HTTP ${res.status()}: ${res.url()}`);
    }
  });
  // Chromium logs CSP violations to the console too; the event also catches report-only ones.
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(
        `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`,
      ),
    ),
  );
  return {
    context,
    page,
    takeProblems: () => problems.splice(0),
    screenshot: async (name) => {
      await page.screenshot({
        path: join(SCREENSHOT_DIR, `${name}.png`),
        fullPage: true,
      });
    },
    close: async () => {
      try {
        await context.close();
      } finally {
        rmSync(profileDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Clicks a submit button and waits until the browser has followed the POST's redirect and
 * loaded the page it leads to. Returns the POST's answer and the final page's.
 */
export async function submitAndFollow(
  page: Page,
  button: Locator,
): Promise<{ post: Response; landed: Response }> {
  const landed = page.waitForResponse(
    (res) =>
      res.request().isNavigationRequest() &&
      res.request().redirectedFrom()?.method() === 'POST',
  );
  await button.click();
  const res = await landed;
  await page.waitForLoadState('load');
  const post = await res.request().redirectedFrom()!.response();
  return { post: post!, landed: res };
}
