/**
 * #9, row 1 for memcached: a TCP proxy in front of the store silently stops answering on every
 * connection already open (no reset, no FIN), while new connections work: what a dead NAT
 * entry or a failed-over load balancer looks like to the app. Requests keep arriving meanwhile,
 * as on a live site. Only those caught on the dead connection within the first store deadline
 * may fail (503, in time); the store then drops that connection and opens a new one, and every
 * request is served again with the same session.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { MemcachedServerProcess } from './utils/memcached-server.js';
import { greeting, logIn } from './utils/session-http.js';
import { uniquePrefix } from './utils/store-cases.js';
import { forward, type TcpProxy } from './utils/tcp-proxy.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

const TIMEOUT_MS = 500;
/** The contract: an answer within SESSION_STORE_TIMEOUT_MS + 500 ms. */
const DEADLINE_MS = TIMEOUT_MS + 500;
const RUN_MS = 8000;
const EVERY_MS = 150;
/** How long after the silence the last failure may start: the first deadline, plus jitter. */
const FAILURES_WITHIN_MS = TIMEOUT_MS + 200;

interface Answer {
  path: string;
  /** Start and end, in ms since the connections went silent. */
  at: number;
  done: number;
  status: number;
  user?: string;
}

describe('memcached behind a proxy whose open connections go silent', () => {
  let server: MemcachedServerProcess;
  let proxy: TcpProxy;
  let t: TestApp;
  let agent: ReturnType<typeof request.agent>;
  const answers: Answer[] = [];

  beforeAll(async () => {
    server = await MemcachedServerProcess.start();
    proxy = await forward(0, { host: '127.0.0.1', port: server.port });
    t = await createTestApp({
      SESSION_TYPE: 'memcached',
      MEMCACHED_SERVERS: `127.0.0.1:${proxy.port}`,
      SESSION_KEY_PREFIX: uniquePrefix(),
      SESSION_STORE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    agent = request.agent(t.server);
    await logIn(agent, 'alice');
    await request(t.server).get('/health').expect(200);
    if (proxy.openConnections === 0)
      throw new Error('the store holds no connection through the proxy');

    proxy.silenceOpenConnections();
    const silencedAt = Date.now();
    const send = async (path: string) => {
      const at = Date.now() - silencedAt;
      const res = await agent.get(path);
      answers.push({
        path,
        at,
        done: Date.now() - silencedAt,
        status: res.status,
        user: path === '/login/' ? greeting(res.text) : undefined,
      });
    };
    // Not awaited one by one: requests overlap, as they do on a site with traffic.
    const sent: Promise<void>[] = [];
    for (let i = 0; Date.now() - silencedAt < RUN_MS; i++) {
      sent.push(send(i % 4 === 3 ? '/health' : '/login/'));
      await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
    }
    await Promise.all(sent);
    answers.sort((a, b) => a.at - b.at);
  }, RUN_MS + 20_000);

  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await server?.stop();
  });

  it('answers every request within the deadline', () => {
    expect(answers.length).toBeGreaterThan(RUN_MS / EVERY_MS / 2);
    const slow = answers.filter((a) => a.done - a.at >= DEADLINE_MS);
    expect(slow).toEqual([]);
  });

  it('fails only requests started within the first store deadline, with 503s', () => {
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed.every((a) => a.status === 503)).toBe(true);
    expect(failed.filter((a) => a.at > FAILURES_WITHIN_MS)).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(
      Math.ceil(FAILURES_WITHIN_MS / EVERY_MS) + 1,
    );
    const recovery = Math.max(0, ...failed.map((a) => a.done));
    process.stdout.write(
      `memcached, open connections silenced: ${failed.length} of ${answers.length} requests failed; ` +
        `the last failure answered ${recovery} ms after the silence, served again from then on\n`,
    );
    expect(recovery).toBeLessThan(5000);
  });

  it('then serves every page with the same session, and /health says ok', () => {
    const after = answers.filter((a) => a.at > FAILURES_WITHIN_MS);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((a) => a.status !== 200)).toEqual([]);
    const users = after.filter((a) => a.path === '/login/').map((a) => a.user);
    expect(users).toEqual(users.map(() => 'alice'));
    expect(after.some((a) => a.path === '/health')).toBe(true);
  });

  it('still answers now, on a fresh connection', async () => {
    const res = await agent.get('/login/').expect(200);
    expect(greeting(res.text)).toBe('alice');
    await request(t.server)
      .get('/health')
      .expect(200, { status: 'ok', store: { type: 'memcached', ok: true } });
  });
});
