/**
 * Issue #9, row 1: a proxy or NAT in front of Redis silently drops the connections already
 * open (no reset, no FIN) while new connections work. The app must notice within about one
 * store deadline, reconnect, and serve everyone again; /health must say what is true meanwhile.
 * What notices it must neither drop a connection to a Redis that is merely slow nor, once a
 * connection is gone, the connection that replaced it.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { RedisServerProcess } from './utils/redis-server.js';
import { greeting, logIn } from './utils/session-http.js';
import { forward } from './utils/tcp-proxy.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

/** The store deadline of the app under test (SESSION_STORE_TIMEOUT_MS). */
const TIMEOUT_MS = 1000;
/** The bar of the issue: every request served again this soon after the silence starts. */
const RECOVERY_BAR_MS = 5000;
/** "A few": failures allowed while the dead connection is noticed. */
const MAX_FAILURES = 3;
const WATCH_MS = 8000;
const TICK_MS = 150;

type Agent = ReturnType<typeof request.agent>;

interface Tick {
  /** When the tick's requests were sent, from the start of the watch. */
  at: number;
  login: number;
  health: number;
  /** Slowest answer of the tick. */
  ms: number;
  user?: string;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A logged-in page view and a health check every tick, side by side, for `ms`. */
async function watchRequests(
  t: TestApp,
  agent: Agent,
  ms: number,
): Promise<Tick[]> {
  const ticks: Tick[] = [];
  const start = Date.now();
  while (Date.now() - start < ms) {
    const at = Date.now() - start;
    const [login, health] = await Promise.all([
      agent.get('/login/'),
      request(t.server).get('/health'),
    ]);
    ticks.push({
      at,
      login: login.status,
      health: health.status,
      ms: Date.now() - start - at,
      user: login.status === 200 ? greeting(login.text) : undefined,
    });
    await sleep(TICK_MS);
  }
  return ticks;
}

/** Ids of the connections open on the server but the inspector's own: the app's. */
async function appConnections(inspector: Redis): Promise<string[]> {
  const own = String(await inspector.client('ID'));
  const list = (await inspector.client('LIST')) as string;
  return [...list.matchAll(/^id=(\d+) /gm)]
    .map(([, id]) => id)
    .filter((id) => id !== own);
}

describe('Redis behind a proxy that fails the open connections', () => {
  /** What the running test opened, to close in reverse order. */
  const opened: (() => unknown)[] = [];

  /** The demo app on a private Redis through a proxy, and a visitor logged in. */
  const start = async (timeoutMs: number) => {
    const redis = await RedisServerProcess.start();
    opened.push(() => redis.stop());
    const proxy = await forward(0, { host: '127.0.0.1', port: redis.port });
    opened.push(() => proxy.close());
    const t = await createTestApp({
      SESSION_TYPE: 'redis',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      SESSION_KEY_PREFIX: 'dead:',
      SESSION_STORE_TIMEOUT_MS: String(timeoutMs),
    });
    opened.push(() => t.close());
    // Straight to the server, past the proxy.
    const inspector = new Redis(redis.url);
    opened.push(() => inspector.disconnect());
    const agent = request.agent(t.server);
    await logIn(agent, 'alice');
    return { t, proxy, inspector, agent };
  };

  afterEach(async () => {
    for (const close of opened.splice(0).toReversed()) await close();
  });

  it('reconnects within a store deadline or so when they go silent, and /health tells the truth throughout', async () => {
    const { t, proxy, agent } = await start(TIMEOUT_MS);
    await request(t.server).get('/health').expect(200);
    proxy.silenceOpenConnections();
    const ticks = await watchRequests(t, agent, WATCH_MS);

    const recovered = ticks.findIndex((tick) => tick.login === 200);
    const failures = ticks.filter((tick) => tick.login !== 200);
    console.log(
      `dead connection: ${failures.length} failed requests; served again ` +
        `${ticks[recovered]?.at} ms after the silence began ` +
        `(store deadline ${TIMEOUT_MS} ms)`,
    );
    expect(recovered).toBeGreaterThanOrEqual(0);
    expect(ticks[recovered].at).toBeLessThan(RECOVERY_BAR_MS);
    expect(failures.length).toBeLessThanOrEqual(MAX_FAILURES);
    expect(failures.every((tick) => tick.login === 503)).toBe(true);
    // Once back, everything is served, with the session it had.
    for (const tick of ticks.slice(recovered))
      expect(tick).toMatchObject({ login: 200, health: 200, user: 'alice' });
    // /health said 503 while session requests failed, never 200.
    for (const tick of ticks.slice(0, recovered)) expect(tick.health).toBe(503);
    // No answer waited past the deadline contract.
    for (const tick of ticks) expect(tick.ms).toBeLessThan(TIMEOUT_MS + 500);
  });

  it('keeps its connection to a Redis that is slow but answers within the deadline', async () => {
    const { t, proxy, inspector, agent } = await start(TIMEOUT_MS);
    const before = await appConnections(inspector);
    expect(before).toHaveLength(1);
    // Each way, so a round trip takes half the deadline.
    proxy.delay(TIMEOUT_MS / 4);
    const ticks = await watchRequests(t, agent, 3000);
    proxy.delay(0);
    expect(ticks.length).toBeGreaterThan(2);
    for (const tick of ticks)
      expect(tick).toMatchObject({ login: 200, health: 200, user: 'alice' });
    expect(await appConnections(inspector)).toEqual(before);
  });

  it('replaces a connection the server closes with a command in flight once, not twice', async () => {
    // Long enough for the reconnection through the slowed proxy to be over well before it.
    const deadline = 2000;
    const { proxy, inspector, agent } = await start(deadline);
    proxy.delay(100);
    const sent = Date.now();
    // then() sends it now; supertest sends a request only once it is awaited.
    const pending = agent.get('/login/').then((answer) => answer);
    await sleep(50);
    // While the session's GET is still on its way, the server drops the app's connection.
    await inspector.client('KILL', 'TYPE', 'normal');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(greeting(res.text)).toBe('alice');
    const replacement = await appConnections(inspector);
    expect(replacement).toHaveLength(1);
    // ioredis 5 would destroy the replacement when the old connection's deadline passed.
    await sleep(sent + deadline + 1000 - Date.now());
    expect(await appConnections(inspector)).toEqual(replacement);
    await agent.get('/login/').expect(200);
  });
});
