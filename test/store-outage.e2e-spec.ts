import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { RedisServerProcess } from './utils/redis-server.js';
import {
  csrfTokenFrom,
  greeting,
  logIn,
  sessionIdOf,
} from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const TIMEOUT_MS = 500;
/** The contract: an answer within SESSION_STORE_TIMEOUT_MS + 500 ms. */
const DEADLINE_MS = TIMEOUT_MS + 500;
const PREFIX = 'outage:';
/** What /health says of the Redis server besides `ok` while it does not answer. */
const SERVER_DOWN = {
  mode: 'single',
  nodes: [{ address: expect.any(String), role: 'unknown', up: false }],
  problem: expect.any(String),
};

/** Repeats `check` until it passes or `withinMs` runs out, then fails with its last error. */
async function eventually(
  check: () => Promise<void>,
  withinMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function timed<T>(
  work: () => Promise<T>,
): Promise<{ result: T; ms: number }> {
  const start = Date.now();
  const result = await work();
  return { result, ms: Date.now() - start };
}

/**
 * Runs against a private redis-server that it stalls (SIGSTOP) and kills, never the shared one.
 * The app must answer 503 in time, stay up, keep every stored session, and recover unaided.
 */
describe('Redis store outage', () => {
  let redis: RedisServerProcess;
  let t: TestApp;
  let agent: ReturnType<typeof request.agent>;
  let sid: string;
  let inspector: Redis;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    t = await createTestApp({
      SESSION_TYPE: 'redis',
      REDIS_URL: redis.url,
      SESSION_KEY_PREFIX: PREFIX,
      SESSION_STORE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    inspector = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    agent = request.agent(t.server);
    sid = sessionIdOf(await logIn(agent, 'alice'))!;
  });

  afterAll(async () => {
    inspector?.disconnect();
    await t?.close();
    await redis?.stop();
  });

  describe('while Redis is stalled', () => {
    beforeAll(() => redis.pause());
    afterAll(() => redis.resume());

    it('answers a request with a session cookie 503 in time, as an HTML page', async () => {
      const { result, ms } = await timed(() => agent.get('/login/'));
      expect(result.status).toBe(503);
      expect(result.headers['content-type']).toMatch(/html/);
      expect(result.text).toMatch(/<nav>/);
      expect(ms).toBeLessThan(DEADLINE_MS);
    });

    it('answers JSON to a client that asks for JSON', async () => {
      const res = await agent
        .get('/login/')
        .set('Accept', 'application/json')
        .expect(503);
      expect(res.body).toMatchObject({ statusCode: 503 });
    });

    it('reports the store down on /health in time', async () => {
      const { result, ms } = await timed(() =>
        request(t.server).get('/health'),
      );
      expect(result.status).toBe(503);
      expect(result.body).toEqual({
        status: 'error',
        store: { type: 'redis', ok: false, ...SERVER_DOWN },
      });
      expect(ms).toBeLessThan(DEADLINE_MS);
    });

    it('still serves anonymous pages, which never touch the store', async () => {
      const { result, ms } = await timed(() =>
        request(t.server).get('/login/'),
      );
      expect(result.status).toBe(200);
      expect(ms).toBeLessThan(TIMEOUT_MS);
    });

    it('answers a login that must write the session 503 in time', async () => {
      const stranger = request.agent(t.server);
      const token = await csrfTokenFrom(stranger);
      const { result, ms } = await timed(() =>
        stranger
          .post('/login/')
          .type('form')
          .send({ username: 'mallory', _csrf: token }),
      );
      expect(result.status).toBe(503);
      expect(sessionIdOf(result)).toBeUndefined();
      expect(ms).toBeLessThan(DEADLINE_MS);
    });
  });

  it('works again with the same session once Redis answers again', async () => {
    await eventually(async () => {
      const res = await agent.get('/login/').expect(200);
      expect(greeting(res.text)).toBe('alice');
    });
  });

  describe('while Redis is down', () => {
    let logoutToken: string;
    beforeAll(async () => {
      logoutToken = await csrfTokenFrom(agent);
      await redis.kill();
    });

    it('answers 503 in time to a request with a session cookie', async () => {
      const { result, ms } = await timed(() => agent.get('/login/'));
      expect(result.status).toBe(503);
      expect(ms).toBeLessThan(DEADLINE_MS);
    });

    it('answers a logout 503 and leaves the session in place', async () => {
      const res = await agent
        .post('/logout/')
        .type('form')
        .send({ _csrf: logoutToken });
      expect(res.status).toBe(503);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('reports the store down on /health in time', async () => {
      const { result, ms } = await timed(() =>
        request(t.server).get('/health'),
      );
      expect(result.status).toBe(503);
      expect(ms).toBeLessThan(DEADLINE_MS);
    });
  });

  it('recovers by itself when Redis is back, with the session it had', async () => {
    await redis.restart();
    await eventually(async () => {
      const res = await agent.get('/login/').expect(200);
      expect(greeting(res.text)).toBe('alice');
    });
    await request(t.server).get('/health').expect(200);
    await inspector.connect();
    const stored = JSON.parse((await inspector.get(PREFIX + sid))!) as {
      username: string;
    };
    expect(stored.username).toBe('alice');
  });
});
