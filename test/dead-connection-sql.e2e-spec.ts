/**
 * #9 row 1: the connections a SQL store already holds go silent (a dead NAT entry, a
 * failed-over proxy: no reset, no answer) while new connections work. The demo app, through a
 * TCP proxy to the machine's PostgreSQL and MariaDB, must fail only the requests that hit a
 * silent connection within the first store deadline, drop those connections (not pool them
 * again), and serve every request again within seconds; /health must never hang and end up ok.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { sleep } from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { greeting, logIn } from './utils/session-http.js';
import { MYSQL_URL, POSTGRES_URL, uniquePrefix } from './utils/store-cases.js';
import { dropTable, type SqlClient } from './utils/store-probes.js';
import { forward } from './utils/tcp-proxy.js';
import { createTestApp } from './utils/test-app.js';

/** The store deadline (the default SESSION_STORE_TIMEOUT_MS). */
const STORE_TIMEOUT_MS = 1000;
/** How long the test keeps asking after the silence starts, and how often. */
const WATCH_MS = 8000;
const EVERY_MS = 150;
/** The bar: every request served again this soon after the silence started. */
const RECOVERY_BAR_MS = 5000;
/** Room for a loaded machine on top of the deadline, before a 503 counts as late. */
const SLACK_MS = 700;

interface Answer {
  path: string;
  /** Milliseconds after the silence started. */
  start: number;
  end: number;
  status: number;
  /** The greeting of a page: the user is still logged in. */
  user?: string;
}

describe.each([
  ['PostgreSQL', POSTGRES_URL, 'pg'],
  ['MySQL', MYSQL_URL, 'mysql2'],
] as const)('the sql store on %s', (name, url, client: SqlClient) => {
  const table = `sessions_e2e_${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await dropTable(client, url, table);
  });

  it('recovers by new connections when the open ones go silent', async () => {
    const target = new URL(url);
    const proxy = await forward(0, {
      host: target.hostname,
      port: Number(target.port),
    });
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const t = await createTestApp({
      SESSION_TYPE: 'sql',
      DATABASE_URL: viaProxy.toString(),
      SESSION_SQL_TABLE: table,
      SESSION_KEY_PREFIX: uniquePrefix(),
      SESSION_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    });
    try {
      const agent = request.agent(t.server);
      await logIn(agent, 'alice');
      // A few connections in the pool, as a busy app has.
      await Promise.all(
        Array.from({ length: 3 }, () => agent.get('/login/').expect(200)),
      );
      await agent.get('/health').expect(200);
      const silenced = proxy.openConnections;
      expect(silenced).toBeGreaterThan(0);

      const silencedAt = Date.now();
      proxy.silenceOpenConnections();
      const answers: Promise<Answer>[] = [];
      const ask = (path: string) => {
        const start = Date.now() - silencedAt;
        answers.push(
          agent.get(path).then((res) => ({
            path,
            start,
            end: Date.now() - silencedAt,
            status: res.status,
            user: path === '/login/' ? greeting(res.text) : undefined,
          })),
        );
      };
      for (let i = 0; Date.now() - silencedAt < WATCH_MS; i++) {
        ask('/login/');
        if (i % 3 === 0) ask('/health');
        await sleep(EVERY_MS);
      }
      const all = await Promise.all(answers);
      await agent.get('/health').expect(200);

      const failed = all.filter((a) => a.status !== 200);
      const lastFailedStart = Math.max(-1, ...failed.map((a) => a.start));
      // From this time on, every request was served.
      const recovery = Math.min(
        ...all.filter((a) => a.start > lastFailedStart).map((a) => a.start),
      );
      const lastFailureAnswered = Math.max(0, ...failed.map((a) => a.end));
      const slowest = Math.max(...all.map((a) => a.end - a.start));
      console.log(
        `${name}: ${silenced} connections silenced; ${failed.length} of ${all.length} answers ` +
          `were 503 (${failed.map((a) => `${a.path} sent at ${a.start} ms`).join(', ') || 'none'}), ` +
          `the last one answered at ${lastFailureAnswered} ms; every request sent from ${recovery} ms ` +
          `after the silence on was served; slowest answer ${slowest} ms; ` +
          `${proxy.silencedConnections} silenced connections still open at the end`,
      );

      // Only requests that met a silent connection within the first deadline failed, at most
      // one per silent connection, each as a 503 within the deadline.
      expect(failed.length).toBeLessThanOrEqual(silenced);
      for (const answer of failed) {
        expect(answer.status).toBe(503);
        expect(answer.start).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
      }
      expect(slowest).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
      expect(recovery).toBeLessThanOrEqual(RECOVERY_BAR_MS);
      expect(lastFailureAnswered).toBeLessThanOrEqual(RECOVERY_BAR_MS);
      // Served means served as the logged-in user: no session was lost.
      const pages = all.filter((a) => a.status === 200 && a.path === '/login/');
      expect(pages.length).toBeGreaterThan(0);
      for (const page of pages) expect(page.user).toBe('alice');
      // The silent connections were dropped by the app, not kept in its pool.
      expect(proxy.silencedConnections).toBe(0);
    } finally {
      await t.close();
      await proxy.close();
    }
  }, 30_000);
});
