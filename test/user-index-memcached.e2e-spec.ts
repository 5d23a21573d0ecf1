/**
 * #12 on memcached, through the app and the exported UserSessions service, on a private
 * memcached whose counters only these tests move: what listing one user costs among many,
 * concurrent logins of one user (each a compare-and-set on the user's index item), and the
 * last activity memcached cannot tell by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from 'memjs';
import { UserSessions } from 'nest-server-session';
import request from 'supertest';
import { session } from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { MemcachedServerProcess } from './utils/memcached-server.js';
import { memcachedCounters } from './utils/memcached-stats.js';
import { csrfTokenFrom, logIn, sessionIdOf } from './utils/session-http.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const LIFETIME = 3600;

/** Session `n` of user number `user`, 32 characters as the app's. */
const sidOf = (user: number, n: number) =>
  `u${String(user).padStart(4, '0')}s${n}`.padEnd(32, '_');

describe('the per-user index on memcached', () => {
  let memcached: MemcachedServerProcess;
  let inspector: Client;
  let t: TestApp;
  let users: UserSessions;

  beforeAll(async () => {
    memcached = await MemcachedServerProcess.start();
    inspector = Client.create(memcached.address, { logger: { log: () => {} } });
    t = await createTestApp({
      SESSION_TYPE: 'memcached',
      MEMCACHED_SERVERS: memcached.address,
      SESSION_KEY_PREFIX: 'index:',
      SESSION_LIFETIME: String(LIFETIME),
      SESSION_TOUCH_AFTER: '0',
    });
    users = t.app.get(UserSessions);
  });

  afterAll(async () => {
    await t?.close();
    inspector?.close();
    await memcached?.stop();
  });

  it('lists one user among 1000 × 3 sessions reading that user’s item and 3 sessions only', async () => {
    const backend = t.store.backend;
    for (let user = 0; user < 1000; user += 50)
      await Promise.all(
        Array.from({ length: 150 }, async (_, i) => {
          const id = `user-${user + Math.floor(i / 3)}`;
          const sid = sidOf(user + Math.floor(i / 3), i % 3);
          await backend.users!.add(
            id,
            sid,
            { createdAt: Date.now() },
            LIFETIME,
          );
          await backend.create(sid, session({ username: id }), LIFETIME);
        }),
      );
    const before = await memcachedCounters(inspector);
    expect(before.curr_items).toBe(4000);

    const listed = await users.list('user-500');

    const after = await memcachedCounters(inspector);
    expect(listed).toHaveLength(3);
    const grown = (name: string) => after[name] - before[name];
    // One GET of the index item, one of each of its sessions; no write, no scan.
    expect(grown('cmd_get')).toBe(4);
    expect(grown('get_hits')).toBe(4);
    expect(grown('get_misses')).toBe(0);
    expect(grown('cmd_set')).toBe(0);
    expect(grown('cmd_touch')).toBe(0);
    expect(grown('delete_hits') + grown('delete_misses')).toBe(0);
  });

  it('lists all of 20 concurrent logins of one user (each one a compare-and-set on the same item)', async () => {
    const user = 'crowd';
    const agents = Array.from({ length: 20 }, () => request.agent(t.server));
    // Forms first, then every POST at once: the index writes collide.
    const tokens = await Promise.all(agents.map((a) => csrfTokenFrom(a)));
    const sids = await Promise.all(
      agents.map(async (agent, i) =>
        sessionIdOf(
          await agent
            .post('/login/')
            .type('form')
            .send({ username: user, _csrf: tokens[i] })
            .expect(302),
        ),
      ),
    );
    expect(new Set(sids).size).toBe(20);
    const listed = await users.list(user);
    expect(listed).toHaveLength(20);
    expect(new Set(listed.map((s) => s.handle)).size).toBe(20);
  });

  it('tells when each session was last seen, though memcached cannot say an item’s expiry', async () => {
    const user = 'seen';
    const agent = request.agent(t.server);
    await logIn(agent, user);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await agent.get('/login/').expect(200);
    const [entry] = await users.list(user);
    expect(entry.lastSeen).not.toBeNull();
    expect(
      entry.lastSeen!.getTime() - entry.createdAt.getTime(),
    ).toBeGreaterThanOrEqual(1400);
    expect(Math.abs(entry.lastSeen!.getTime() - Date.now())).toBeLessThan(1000);
  });
});
