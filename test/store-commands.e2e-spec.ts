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
import {
  session,
  sessionId,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { UserSessions } from 'nest-server-session';
import {
  commandsBetween,
  commandsSent,
  commandStats,
} from './utils/redis-commands.js';
import { RedisServerProcess } from './utils/redis-server.js';
import { csrfTokenFrom, logIn, sessionIdOf } from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const PREFIX = 'commands:';

/** An index entry as the store writes it, for a login `ms` ago. */
const entry = (ms: number) => JSON.stringify({ createdAt: Date.now() - ms });

/**
 * A login as `username` from `agent`'s page, sent when called: the form's token is taken now,
 * before any counting starts (each login issues a new one).
 */
async function loginFrom(
  agent: Parameters<typeof csrfTokenFrom>[0],
  username: string,
) {
  const token = await csrfTokenFrom(agent);
  return () =>
    agent
      .post('/login/')
      .type('form')
      .send({ username, _csrf: token })
      .expect(302);
}

/** The id of a user's nth session, in the index test. */
const sidOf = (user: number, device: number) =>
  sessionId(`u${String(user).padStart(4, '0')}d${device}`);

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

  /** What `work` resolved with, and the commands it made the server run. */
  const one = async <T>(work: () => Promise<T>) => {
    let result: T | undefined;
    const ran = await commandsOf(async () => {
      result = await work();
    });
    return { ran, result: result as T };
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

  // A login writes the session and records it in its user's index with one script (EVALSHA;
  // EVAL the first time on a connection) that runs HSET, SET, and HLEN (to see whether the
  // index wants pruning) inside Redis: commandstats counts those too, MONITOR shows the one
  // command the app sent. The old session goes with its index entry in another (DEL, HDEL).
  it('costs a GET and two scripts (HSET, SET, HLEN; DEL, HDEL) to log in again as a logged-in user', async () => {
    const app = await start();
    const agent = request.agent(app.server);
    await logIn(agent, 'alice');
    const ran = await commandsOf(await loginFrom(agent, 'bob'));
    // The logout script's first run on this connection: EVAL.
    expect(ran).toEqual({
      get: 1,
      set: 1,
      del: 1,
      evalsha: 1,
      eval: 1,
      hset: 1,
      hlen: 1,
      hdel: 1,
    });
    expect(
      await commandsSent(inspector, await loginFrom(agent, 'carol')),
    ).toEqual({ get: 1, evalsha: 2 });
  });

  it('costs one script (DEL, HDEL) to log out', async () => {
    const app = await start();
    const agent = request.agent(app.server);
    await logIn(agent, 'frank');
    const token = await csrfTokenFrom(agent);
    const logOut = () =>
      agent.post('/logout/').type('form').send({ _csrf: token }).expect(302);
    expect(await commandsSent(inspector, logOut)).toEqual({ get: 1, eval: 1 });
    expect(await inspector.exists(`${PREFIX}user:frank`)).toBe(0);
  });

  it('costs one script (HSET, SET, HLEN) to log in from an anonymous page', async () => {
    const app = await start();
    const anonymous = () => request.agent(app.server);
    const ran = await commandsOf(await loginFrom(anonymous(), 'carol'));
    expect(ran).toEqual({ eval: 1, hset: 1, set: 1, hlen: 1 });
    expect(
      await commandsSent(inspector, await loginFrom(anonymous(), 'dave')),
    ).toEqual({
      evalsha: 1,
    });
  });

  it('writes no session when a login’s script cannot write its index entry', async () => {
    const app = await start();
    // Not a hash: HSET fails, and the script stops there, before its SET.
    await inspector.set(`${PREFIX}user:erin`, 'not a hash');
    const sid = sessionId('wrongtype');
    await expect(
      app.store.backend.createOwned!(sid, session({ username: 'erin' }), 60, {
        userId: 'erin',
        device: { createdAt: Date.now() },
      }),
    ).rejects.toThrow(/WRONGTYPE/);
    expect(await inspector.exists(PREFIX + sid)).toBe(0);
  });

  it('costs one round trip per store operation, a compare-and-set write included', async () => {
    const app = await start();
    const backend = app.store.backend;
    const sid = sessionId('commands');

    expect(
      (await one(() => backend.create(sid, session({ n: 1 }), 60))).ran,
    ).toEqual({ set: 1 });
    const loaded = await one(() => backend.load(sid));
    expect(loaded.ran).toEqual({ get: 1 });
    // The script reads and writes on the server (its GET and SET count there too), in one
    // round trip: sent whole (EVAL) the first time on a connection, by digest (EVALSHA) after.
    const first = await one(() =>
      backend.replace(sid, loaded.result!.version, session({ n: 2 }), 60),
    );
    expect(first.result.status).toBe('replaced');
    expect(first.ran).toEqual({ eval: 1, get: 1, set: 1 });
    const second = await one(() =>
      backend.replace(
        sid,
        (first.result as { version: unknown }).version,
        session({ n: 3 }),
        60,
      ),
    );
    expect(second.result.status).toBe('replaced');
    expect(second.ran).toEqual({ evalsha: 1, get: 1, set: 1 });
    // A stale version: nothing written, and the current session comes back with the answer.
    const stale = await one(() =>
      backend.replace(sid, loaded.result!.version, session({ n: 4 }), 60),
    );
    expect(stale.result).toMatchObject({
      status: 'conflict',
      current: { session: { n: 3 } },
    });
    expect(stale.ran).toEqual({ evalsha: 1, get: 1 });
    expect((await one(() => backend.touch(sid, 60))).ran).toEqual({
      expire: 1,
    });
    expect((await one(() => backend.destroy(sid))).ran).toEqual({ del: 1 });
  });

  it('lists one user’s sessions among 1000 users with 3 each by that user’s entries only: an HGETALL and a PTTL per session', async () => {
    const app = await start();
    const { backend } = app.store;
    const users = app.app.get(UserSessions);
    const keysBefore = await inspector.dbsize();
    // Logged in five minutes ago: an entry without its session is pruned only once it is
    // older than a login takes (a fresh one may belong to a session being written).
    const loggedInAt = Date.now() - 300_000;
    for (let user = 0; user < 1000; user += 50)
      await Promise.all(
        Array.from({ length: 50 * 3 }, async (_, i) => {
          const username = `user-${user + Math.floor(i / 3)}`;
          const sid = sidOf(user + Math.floor(i / 3), i % 3);
          await backend.users!.add(
            username,
            sid,
            { createdAt: loggedInAt },
            60,
          );
          await backend.create(sid, session({ username }), 60);
        }),
      );
    // A key per session and a hash per user.
    expect((await inspector.dbsize()) - keysBefore).toBe(1000 * 3 + 1000);

    const listed = await one(() => users.list('user-500'));
    expect(listed.result).toHaveLength(3);
    expect(listed.ran).toEqual({ hgetall: 1, pttl: 3 });

    // A session that ended without a logout (here: deleted behind the app's back) is pruned.
    await inspector.del(PREFIX + sidOf(500, 1));
    const pruned = await one(() => users.list('user-500'));
    expect(pruned.result).toHaveLength(2);
    expect(pruned.ran).toEqual({ hgetall: 1, pttl: 3, hdel: 1 });
  });

  it('prunes, at the login that brings a user’s index to 32 entries (64, 128...), those of ended sessions, but not those of sessions still being written', async () => {
    const app = await start();
    const index = app.store.backend.users!;
    const user = 'many-devices';
    const key = `${PREFIX}user:${user}`;
    // Left by earlier logins: 28 ended sessions (their keys are gone), 2 live ones, and one a
    // moment old whose session another instance has not written yet.
    for (let i = 0; i < 28; i++)
      await inspector.hset(key, sidOf(9000, i), entry(300_000));
    for (const device of [120, 121]) {
      await inspector.hset(key, sidOf(9000, device), entry(300_000));
      await app.store.backend.create(sidOf(9000, device), session(), 60);
    }
    await inspector.hset(key, sidOf(9000, 130), entry(0));
    expect(await inspector.hlen(key)).toBe(31);

    const login = await one(() =>
      index.add(user, sidOf(9000, 140), { createdAt: Date.now() }, 60),
    );
    expect(login.ran).toEqual({
      eval: 1,
      hset: 1,
      hlen: 1,
      hgetall: 1,
      pttl: 32,
      hdel: 1,
    });
    expect((await inspector.hkeys(key)).toSorted()).toEqual(
      [120, 121, 130, 140].map((device) => sidOf(9000, device)).toSorted(),
    );
    // Until the index holds 32 again, a login is one command.
    const next = await one(() =>
      index.add(user, sidOf(9000, 141), { createdAt: Date.now() }, 60),
    );
    expect(next.ran).toEqual({ evalsha: 1, hset: 1, hlen: 1 });
  });
});
