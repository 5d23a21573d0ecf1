import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { freePort } from './utils/free-port.js';
import { RedisServerProcess } from './utils/redis-server.js';
import { describeEachStore, uniquePrefix } from './utils/store-cases.js';
import { forward, type TcpProxy } from './utils/tcp-proxy.js';

/** The built app, as `npm run start:prod` runs it (`npm run test:e2e` builds it first). */
const MAIN = resolve('dist/main.js');

interface Exit {
  code: number | null;
  stderr: string;
  ms: number;
}

/** Starts the real process with `env` (on top of PATH only) and waits for it to exit. */
function runUntilExit(
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<Exit> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      cwd: mkdtempSync(join(tmpdir(), 'startup-')),
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `process still running after ${timeoutMs} ms; stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr, ms: Date.now() - started });
    });
  });
}

interface Running {
  port: number;
  cwd: string;
  stderr: () => string;
  /** The first answer of GET /health once the server listens. */
  health: Response;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

/** Starts the real process on a free port and waits until it answers /health. */
async function startServer(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'startup-'));
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (done) => child.on('exit', (code, signal) => done({ code, signal })),
  );
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  let health: Response | undefined;
  for (let i = 0; i < 100 && !health; i++) {
    health = await fetch(`http://127.0.0.1:${port}/health`).catch(
      () => undefined,
    );
    if (!health) await new Promise((r) => setTimeout(r, 100));
  }
  if (!health) {
    await stop();
    throw new Error(`server did not answer on port ${port}; stderr: ${stderr}`);
  }
  return { port, cwd, stderr: () => stderr, health, stop };
}

describe('starting the app', () => {
  it('has been built', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it.each([
    ['an unknown SESSION_TYPE', { SESSION_TYPE: 'cassandra' }, 'SESSION_TYPE'],
    [
      'a MEMCACHED_SERVERS entry without a port',
      { SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: '127.0.0.1' },
      'MEMCACHED_SERVERS',
    ],
    [
      'a malformed MONGODB_URL',
      { SESSION_TYPE: 'mongodb', MONGODB_URL: 'http://x' },
      'MONGODB_URL',
    ],
    [
      'an unknown SESSION_SERIALIZATION_FORMAT',
      { SESSION_SERIALIZATION_FORMAT: 'pickle' },
      'SESSION_SERIALIZATION_FORMAT',
    ],
    [
      'a bad SESSION_CLEANUP_INTERVAL',
      { SESSION_CLEANUP_INTERVAL: 'hourly' },
      'SESSION_CLEANUP_INTERVAL',
    ],
    [
      'a schema on SQLite',
      { SESSION_SQL_SCHEMA: 'auth' },
      'SESSION_SQL_SCHEMA',
    ],
    [
      'a malformed REDIS_URL',
      { SESSION_TYPE: 'redis', REDIS_URL: 'not a url' },
      'REDIS_URL',
    ],
    [
      'a malformed DATABASE_URL',
      { DATABASE_URL: 'postgres//nohost' },
      'DATABASE_URL',
    ],
    [
      'a negative SESSION_LIFETIME',
      { SESSION_LIFETIME: '-5' },
      'SESSION_LIFETIME',
    ],
    [
      'a non-numeric SESSION_LIFETIME',
      { SESSION_LIFETIME: 'abc' },
      'SESSION_LIFETIME',
    ],
    [
      'a bad SESSION_STORE_TIMEOUT_MS',
      { SESSION_STORE_TIMEOUT_MS: '0' },
      'SESSION_STORE_TIMEOUT_MS',
    ],
    [
      'a bad SESSION_PERMANENT',
      { SESSION_PERMANENT: 'sometimes' },
      'SESSION_PERMANENT',
    ],
    ['a bad PORT', { PORT: 'eighty' }, 'PORT'],
    // Issue #9, row 4: timers past 2^31 - 1 ms fire after 1 ms.
    [
      'a SESSION_CLEANUP_INTERVAL past the longest Node timer',
      { SESSION_CLEANUP_INTERVAL: '2592000' },
      'SESSION_CLEANUP_INTERVAL',
    ],
    [
      'a SESSION_STORE_TIMEOUT_MS past the longest Node timer',
      { SESSION_STORE_TIMEOUT_MS: '2147483648' },
      'SESSION_STORE_TIMEOUT_MS',
    ],
    // Issue #9, row 8: the sid column holds 255 characters, the id takes 32.
    [
      'a SESSION_KEY_PREFIX too long for the SQL sid column',
      {
        DATABASE_URL: 'postgres://127.0.0.1:1/x',
        SESSION_KEY_PREFIX: 'p'.repeat(230),
      },
      'SESSION_KEY_PREFIX',
    ],
    [
      'production without a secret',
      { NODE_ENV: 'production' },
      'SESSION_SECRET',
    ],
  ])(
    'exits non-zero within seconds on %s, naming the variable',
    async (_case, env, variable) => {
      const exit = await runUntilExit({
        SESSION_SECRET: 'x',
        ...env,
        ...(variable === 'SESSION_SECRET' ? { SESSION_SECRET: '' } : {}),
      });
      expect(exit.code).not.toBe(0);
      expect(exit.ms).toBeLessThan(5000);
      expect(exit.stderr).toMatch(new RegExp(`^${variable}: .+$`, 'm'));
      expect(exit.stderr).not.toMatch(/\n\s+at /);
    },
  );

  // Issue #9, row 3: a "#" in the password made the start-up error print the password.
  it.each([
    ['DATABASE_URL', 'sql', 'postgres://app:S3cr#tPa55@db.internal:5432/app'],
    ['REDIS_URL', 'redis', 'redis://app:S3cr#tPa55@cache.internal:6379'],
    ['MONGODB_URL', 'mongodb', 'mongodb://app:S3cr#tPa55@db.internal/s'],
  ])(
    'names a malformed %s without printing its password',
    async (variable, type, url) => {
      const exit = await runUntilExit({
        SESSION_SECRET: 'x',
        SESSION_TYPE: type,
        [variable]: url,
      });
      expect(exit.code).not.toBe(0);
      expect(exit.stderr).toMatch(
        new RegExp(`^${variable}: .*app:\\*\\*\\*@`, 'm'),
      );
      expect(exit.stderr).not.toMatch(/S3cr|tPa55/);
    },
  );

  it('lists every bad variable at once', async () => {
    const exit = await runUntilExit({
      SESSION_TYPE: 'nope',
      SESSION_LIFETIME: 'x',
      PORT: '-1',
    });
    expect(exit.code).not.toBe(0);
    for (const variable of ['SESSION_TYPE', 'SESSION_LIFETIME', 'PORT']) {
      expect(exit.stderr).toMatch(new RegExp(`^${variable}: `, 'm'));
    }
  });

  it('serves the demo on the SQLite default with no setting at all, and stops cleanly', async () => {
    const server = await startServer({});
    try {
      expect(server.health.status).toBe(200);
      expect(await server.health.json()).toEqual({
        status: 'ok',
        store: { type: 'sql', ok: true },
      });
      const login = await fetch(`http://127.0.0.1:${server.port}/login/`);
      expect(await login.text()).toContain('<h3>欢迎:</h3>');
      expect(existsSync(join(server.cwd, 'var', 'sessions.sqlite'))).toBe(true);
    } finally {
      // Nest closes the app (and then the store) on SIGTERM, and main.ts exits 0.
      const { code, signal } = await server.stop();
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    }
    expect(server.stderr()).toBe('');
  });

  it.each([
    [
      'redis',
      'redis',
      (hp: string) => ({ REDIS_URL: `redis://${hp}` }),
      // Redis says more: its mode, the server it cannot reach, and why.
      {
        mode: 'single',
        nodes: [{ address: expect.any(String), role: 'unknown', up: false }],
        problem: expect.stringMatching(/^not connected/),
      },
    ],
    ['memcached', 'memcached', (hp: string) => ({ MEMCACHED_SERVERS: hp }), {}],
    [
      'mongodb',
      'mongodb',
      (hp: string) => ({ MONGODB_URL: `mongodb://${hp}/s` }),
      {},
    ],
    [
      'PostgreSQL',
      'sql',
      (hp: string) => ({ DATABASE_URL: `postgres://postgres@${hp}/test` }),
      {},
    ],
    [
      'MySQL',
      'sql',
      (hp: string) => ({ DATABASE_URL: `mysql://root@${hp}/test` }),
      {},
    ],
  ])(
    'starts while %s is unreachable, and reports it on /health instead of hanging',
    async (_name, type, unreachable, details) => {
      const deadPort = await freePort();
      const started = Date.now();
      const server = await startServer({
        SESSION_TYPE: type,
        ...unreachable(`127.0.0.1:${deadPort}`),
      });
      try {
        expect(Date.now() - started).toBeLessThan(8000);
        expect(server.health.status).toBe(503);
        expect(await server.health.json()).toEqual({
          status: 'error',
          store: { type, ok: false, ...details },
        });
      } finally {
        await server.stop();
      }
    },
  );
});

/** A browser's cookies for one site, kept by hand from each answer's Set-Cookie lines. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  header(): string {
    return [...this.cookies]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }
}

/**
 * The demo login over real HTTP, as a browser does it: loads the form, then returns the POST
 * of `username` (started, not awaited) and the jar that holds the browser's cookies.
 */
async function startLogin(
  port: number,
  username: string,
): Promise<{ post: Promise<Response>; jar: CookieJar }> {
  const base = `http://127.0.0.1:${port}`;
  const jar = new CookieJar();
  const form = await fetch(`${base}/login/`);
  jar.keep(form);
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  const post = fetch(`${base}/login/`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: jar.header(),
    },
    body: new URLSearchParams({ username, _csrf: token }).toString(),
  });
  return { post, jar };
}

/** The demo login over real HTTP, cookies carried by hand as a browser would. */
async function logInOverHttp(
  port: number,
  username: string,
): Promise<{ greeting: string; cookie: string }> {
  const { post: posting, jar } = await startLogin(port, username);
  const post = await posting;
  expect(post.status).toBe(302);
  expect(post.headers.get('location')).toBe('/login/');
  jar.keep(post);
  return {
    greeting: await greetingAt(port, jar.header()),
    cookie: jar.header(),
  };
}

/** The greeting of the login page for a visitor sending `cookie`. */
async function greetingAt(port: number, cookie: string): Promise<string> {
  const page = await fetch(`http://127.0.0.1:${port}/login/`, {
    headers: { cookie },
  });
  expect(page.status).toBe(200);
  return /<h3>欢迎:(.*?)<\/h3>/.exec(await page.text())?.[1] ?? '';
}

describeEachStore('npm start with SESSION_TYPE of the store:', (store) => {
  it('serves the demo login end to end', async () => {
    const setup = await store.setUp();
    const server = await startServer({
      ...setup.env,
      SESSION_KEY_PREFIX: uniquePrefix(),
    });
    try {
      expect(await server.health.json()).toEqual({
        status: 'ok',
        store: { type: store.type, ok: true, ...store.health },
      });
      expect((await logInOverHttp(server.port, '小明')).greeting).toBe('小明');
    } finally {
      await server.stop();
      await setup.tearDown();
    }
    expect(server.stderr()).toBe('');
  });
});

describe('switching SESSION_SERIALIZATION_FORMAT', () => {
  it('keeps users logged in across a restart from msgpack to json and back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'format-switch-'));
    const env = {
      SESSION_SECRET: 'stays-the-same',
      DATABASE_URL: `sqlite:${join(dir, 'sessions.sqlite')}`,
    };
    const first = await startServer({
      ...env,
      SESSION_SERIALIZATION_FORMAT: 'msgpack',
    });
    let cookie: string;
    try {
      ({ cookie } = await logInOverHttp(first.port, 'Zoë'));
    } finally {
      await first.stop();
    }
    const second = await startServer({
      ...env,
      SESSION_SERIALIZATION_FORMAT: 'json',
    });
    try {
      expect(await greetingAt(second.port, cookie)).toBe('Zoë');
      // A second login writes JSON; the msgpack-era session was read, not lost.
      expect((await logInOverHttp(second.port, '小红')).greeting).toBe('小红');
    } finally {
      await second.stop();
    }
    const third = await startServer({
      ...env,
      SESSION_SERIALIZATION_FORMAT: 'msgpack',
    });
    try {
      expect(await greetingAt(third.port, cookie)).toBe('Zoë');
    } finally {
      await third.stop();
    }
  });
});

describe('stopping the app while a login is in flight', () => {
  /** Each way between the app and Redis: every store call takes at least twice this. */
  const STORE_DELAY_MS = 300;
  let redis: RedisServerProcess;
  let proxy: TcpProxy;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    proxy = await forward(0, { host: '127.0.0.1', port: redis.port });
  });

  afterAll(async () => {
    await proxy?.close();
    await redis?.stop();
  });

  it('finishes the login (302, session stored), then closes the store and exits 0 promptly on SIGTERM', async () => {
    const server = await startServer({
      SESSION_TYPE: 'redis',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      SESSION_KEY_PREFIX: 'shutdown:',
      SESSION_STORE_TIMEOUT_MS: '5000',
    });
    let exit: { code: number | null; signal: string | null } | undefined;
    try {
      proxy.delay(STORE_DELAY_MS);
      const { post } = await startLogin(server.port, 'Ada');
      // Well inside the login's first store call, which takes at least 2 * STORE_DELAY_MS.
      await new Promise((done) => setTimeout(done, STORE_DELAY_MS));
      const signalled = Date.now();
      const stopping = server.stop();
      const login = await post;
      const answered = Date.now();
      exit = await stopping;
      const exited = Date.now();

      expect(login.status).toBe(302);
      expect(login.headers.get('location')).toBe('/login/');
      expect(
        login.headers
          .getSetCookie()
          .some((line) => line.startsWith('session=')),
      ).toBe(true);
      // SIGTERM landed while the login was still waiting for the store.
      expect(answered - signalled).toBeGreaterThan(0);
      expect(exit).toEqual({ code: 0, signal: null });
      // Not held open by the login's keep-alive connection until a client timeout (seconds).
      expect(exited - answered).toBeLessThan(2000);
    } finally {
      if (!exit) await server.stop();
    }
    expect(server.stderr()).toBe('');
    proxy.delay(0);
    const inspector = new Redis(redis.url);
    try {
      // The session, and the user's index entry that the login writes beside it. (Told apart
      // by name: sorted, a session id after "user:" would come second.)
      const indexKey = 'shutdown:user:Ada';
      const keys = await inspector.keys('shutdown:*');
      expect(keys).toHaveLength(2);
      expect(keys).toContain(indexKey);
      const sessionKey = keys.find((key) => key !== indexKey)!;
      expect(await inspector.get(sessionKey)).toContain('"username":"Ada"');
      expect(await inspector.hkeys(indexKey)).toEqual([
        sessionKey.slice('shutdown:'.length),
      ]);
    } finally {
      inspector.disconnect();
    }
  });
});
