import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
} from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { commandsBetween, commandStats } from './utils/redis-commands.js';
import { RedisServerProcess } from './utils/redis-server.js';
import { csrfTokenFrom, logIn, sessionIdOf } from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const PREFIX = 'commands:';

/**
 * Counts the Redis commands each kind of request costs, on a private redis-server so that no
 * other client's commands are counted: a session layer sits on every request, so these are the
 * product's cost.
 */
describe('store commands per request on Redis', () => {
  let redis: RedisServerProcess;
  let inspector: Redis;
  let t: TestApp | undefined;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    inspector = new Redis(redis.url);
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    inspector?.disconnect();
    await redis?.stop();
  });

  const start = async (env: Record<string, string> = {}) => {
    t = await createTestApp({
      SESSION_TYPE: 'redis',
      REDIS_URL: redis.url,
      SESSION_KEY_PREFIX: PREFIX,
      ...env,
    });
    return t;
  };

  /** The commands `work` made the server run. */
  const commandsOf = async (work: () => Promise<unknown>) => {
    const before = await commandStats(inspector);
    await work();
    return commandsBetween(before, await commandStats(inspector));
  };

  it('costs nothing for anonymous pages, the login form included', async () => {
    const app = await start();
    const ran = await commandsOf(async () => {
      await request(app.server).get('/login/').expect(200);
      await request(app.server).get('/setcookie/').expect(200);
      await request(app.server).get('/getcookie/').expect(200);
    });
    expect(ran).toEqual({});
  });

  it('costs one GET for a logged-in page view that changes nothing', async () => {
    const app = await start();
    const agent = request.agent(app.server);
    await logIn(agent, 'alice');
    const ran = await commandsOf(async () => {
      for (let i = 0; i < 10; i++) await agent.get('/login/').expect(200);
    });
    expect(ran).toEqual({ get: 10 });
  });

  it('refreshes the expiry once touchAfter has passed, then goes back to one GET', async () => {
    const app = await start({
      SESSION_LIFETIME: '30',
      SESSION_TOUCH_AFTER: '1',
    });
    const agent = request.agent(app.server);
    const sid = sessionIdOf(await logIn(agent, 'alice'))!;
    expect(await commandsOf(() => agent.get('/login/').expect(200))).toEqual({
      get: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ttlBefore = await inspector.pttl(PREFIX + sid);
    expect(await commandsOf(() => agent.get('/login/').expect(200))).toEqual({
      get: 1,
      expire: 1,
    });
    expect(await inspector.pttl(PREFIX + sid)).toBeGreaterThan(ttlBefore + 900);
    expect(await commandsOf(() => agent.get('/login/').expect(200))).toEqual({
      get: 1,
    });
  });

  it('refreshes on every request with SESSION_TOUCH_AFTER=0, like plain express-session', async () => {
    const app = await start({ SESSION_TOUCH_AFTER: '0' });
    const agent = request.agent(app.server);
    await logIn(agent, 'alice');
    const ran = await commandsOf(async () => {
      for (let i = 0; i < 3; i++) await agent.get('/login/').expect(200);
    });
    expect(ran).toEqual({ get: 3, expire: 3 });
  });

  it('costs a GET, a SET and a DEL to log in again as a logged-in user', async () => {
    const app = await start();
    const agent = request.agent(app.server);
    await logIn(agent, 'alice');
    const token = await csrfTokenFrom(agent);
    const ran = await commandsOf(() =>
      agent
        .post('/login/')
        .type('form')
        .send({ username: 'bob', _csrf: token })
        .expect(302),
    );
    expect(ran).toEqual({ get: 1, set: 1, del: 1 });
  });

  it('costs a single SET to log in from an anonymous page', async () => {
    const app = await start();
    const agent = request.agent(app.server);
    const token = await csrfTokenFrom(agent);
    const ran = await commandsOf(() =>
      agent
        .post('/login/')
        .type('form')
        .send({ username: 'carol', _csrf: token })
        .expect(302),
    );
    expect(ran).toEqual({ set: 1 });
  });
});
