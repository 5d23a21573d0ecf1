/**
 * #9: nothing that identifies a session (its id, its key, its data) or a credential may reach a
 * log line or an error answer, on any store and any error path. The demo app runs on each
 * store's own server, the store is broken under it the ways it can break (a key of the wrong
 * type, a server stalled or gone, a session file that is no file, a folder that is gone), and
 * every log line (Nest's Logger and the console) and every error answer is searched for the
 * session ids, their keys, their file names and the user names stored, plain or hex-encoded.
 * The SQL store has its own suite, test/sql-error-leaks.e2e-spec.ts (knex quotes values).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Env } from 'nest-server-session';
import { Redis } from 'ioredis';
import request, { type Response } from 'supertest';
import { CapturingLogger } from './utils/capturing-logger.js';
import {
  captureLogs,
  expectNothingLeaked,
  stopCapturingLogs,
} from './utils/leak-check.js';
import { MemcachedServerProcess } from './utils/memcached-server.js';
import { RedisServerProcess } from './utils/redis-server.js';
import { csrfTokenFrom, logIn, sessionIdOf } from './utils/session-http.js';
import { uniquePrefix } from './utils/store-cases.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

/** A store the app runs on, and ways to break it under the app once a session exists. */
interface Breakable {
  env: Env;
  /**
   * Ways of breaking it, each tried in turn on a logged-in visitor's session; `heal` makes
   * the store work again for the next one.
   */
  breaks: Record<
    string,
    {
      breakIt(sid: string, prefix: string): Promise<void>;
      heal?(): Promise<void> | void;
    }
  >;
  tearDown(): Promise<void>;
}

const fileOf = (key: string) =>
  `${Buffer.from(key).toString('base64url')}.session`;

const cases: [string, () => Promise<Breakable>][] = [
  [
    'redis',
    async () => {
      const server = await RedisServerProcess.start();
      const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
      return {
        env: { SESSION_TYPE: 'redis', REDIS_URL: server.url },
        breaks: {
          // Another program put a hash where the session was: Redis answers WRONGTYPE.
          'a key of the wrong type': {
            breakIt: async (sid, prefix) => {
              await client.del(prefix + sid);
              await client.hset(prefix + sid, 'not', 'a session');
            },
          },
          'a stalled server': { breakIt: () => server.pause() },
        },
        tearDown: async () => {
          server.resume();
          client.disconnect();
          await server.stop();
        },
      };
    },
  ],
  [
    'memcached',
    async () => {
      const server = await MemcachedServerProcess.start();
      return {
        env: { SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: server.address },
        breaks: {
          'a stalled server': {
            breakIt: () => server.pause(),
            heal: () => server.resume(),
          },
          'a server gone': { breakIt: () => server.kill() },
        },
        tearDown: async () => {
          server.resume();
          await server.stop();
        },
      };
    },
  ],
  [
    'filesystem',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'leaks-files-'));
      const folder = join(dir, 'sessions');
      return {
        env: { SESSION_TYPE: 'filesystem', SESSION_FILE_DIR: folder },
        breaks: {
          // Paths carry the key (the file name is base64url of it): errors must not.
          'a session file that is a folder': {
            breakIt: async (sid, prefix) => {
              const file = join(folder, fileOf(prefix + sid));
              await rm(file, { force: true });
              await mkdir(file);
            },
          },
          'a folder that is gone': {
            breakIt: async () => {
              await rename(folder, `${folder}-moved`);
              await writeFile(folder, 'not a folder');
            },
          },
        },
        tearDown: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(cases)('a failure of the %s store', (_name, breakable) => {
  const logger = new CapturingLogger();
  const prefix = uniquePrefix();
  let store: Breakable;
  let t: TestApp;
  const users = Array.from(
    { length: 8 },
    (_, i) => `user${i}-${randomBytes(6).toString('hex')}`,
  );
  const sids: string[] = [];

  beforeAll(async () => {
    store = await breakable();
    t = await createTestApp({
      ...store.env,
      SESSION_KEY_PREFIX: prefix,
      SESSION_STORE_TIMEOUT_MS: '300',
    });
    captureLogs(logger);
  });

  afterAll(async () => {
    await t?.close();
    await store?.tearDown();
    stopCapturingLogs();
  });

  it('reaches neither the log nor an error answer with a session id, key, file name or data', async () => {
    const answers: Response[] = [];
    let user = 0;
    for (const { breakIt, heal } of Object.values(store.breaks)) {
      const visitor = request.agent(t.server);
      const sid = sessionIdOf(await logIn(visitor, users[user++]))!;
      sids.push(sid);
      const token = await csrfTokenFrom(visitor);
      await breakIt(sid, prefix);
      answers.push(
        await visitor.get('/login/').set('Accept', 'application/json'),
        await visitor
          .post('/login/')
          .set('Accept', 'application/json')
          .type('form')
          .send({ username: users[user++], _csrf: token }),
        await visitor.post('/logout/').type('form').send({ _csrf: token }),
      );
      await heal?.();
    }

    // The failures really happened, and were logged.
    expect(answers.map((res) => res.status)).toContain(503);
    expect(logger.lines.join('\n')).toMatch(/^warn: /m);

    const secrets = [
      ...sids,
      ...sids.map((sid) => fileOf(prefix + sid)),
      ...users,
      ...users.map((name) => Buffer.from(name).toString('hex')),
    ];
    expectNothingLeaked(logger, answers, secrets, prefix);
  }, 60_000);
});
