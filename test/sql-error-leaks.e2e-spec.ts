/**
 * #9 row 2: a SQL error during a request must not carry the session into the log or the
 * answer. knex compiles the bound values into its error messages (the key, and on SQLite the
 * whole session in hex), so the demo app is run on each database, the database is broken under
 * it (the table renamed on PostgreSQL and MySQL, a write lock held by another connection on
 * SQLite), and every log line (Nest's Logger and the console) and every answer is searched for
 * the session ids, their keys and the session data, plain or hex-encoded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import knexFactory, { type Knex } from 'knex';
import request, { type Response } from 'supertest';
import { CapturingLogger } from './utils/capturing-logger.js';
import {
  captureLogs,
  expectNothingLeaked,
  stopCapturingLogs,
} from './utils/leak-check.js';
import { csrfTokenFrom, logIn, sessionIdOf } from './utils/session-http.js';
import { MYSQL_URL, POSTGRES_URL, uniquePrefix } from './utils/store-cases.js';
import { createTestApp, type TestApp } from './utils/test-app.js';

/** A database the app runs on, and a way to break it under the app. */
interface Breakable {
  url: string;
  /** Makes every session write (and, where it can, read) fail. */
  breakIt(): Promise<void>;
  tearDown(): Promise<void>;
}

const table = () => `sessions_e2e_${randomBytes(4).toString('hex')}`;

/** The table renamed away, as an operator's migration might. */
function serverDatabase(
  url: string,
  client: 'pg' | 'mysql2',
): () => Promise<Breakable & { table: string }> {
  return () => {
    const name = table();
    const db = knexFactory({
      client,
      connection: url,
      pool: { min: 0, max: 1 },
    });
    return Promise.resolve({
      url,
      table: name,
      breakIt: async () => {
        await db.schema.renameTable(name, `${name}_moved`);
      },
      tearDown: async () => {
        await db.schema.dropTableIfExists(name);
        await db.schema.dropTableIfExists(`${name}_moved`);
        await db.schema.dropTableIfExists(`${name}_users`);
        await db.destroy();
      },
    });
  };
}

/** Another connection holds the write lock: the store's writes wait, then fail as busy. */
async function sqliteDatabase(): Promise<Breakable & { table: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sql-leaks-'));
  const file = join(dir, 'sessions.sqlite');
  let locker: Knex | undefined;
  return {
    url: `sqlite:${file}`,
    table: table(),
    breakIt: async () => {
      // One connection, so that it stays inside the transaction between statements.
      locker = knexFactory({
        client: 'better-sqlite3',
        connection: { filename: file },
        useNullAsDefault: true,
        pool: { min: 1, max: 1 },
      });
      await locker.raw('begin exclusive');
    },
    tearDown: async () => {
      await locker?.raw('rollback');
      await locker?.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.each([
  ['sqlite', sqliteDatabase],
  ['postgres', serverDatabase(POSTGRES_URL, 'pg')],
  ['mysql', serverDatabase(MYSQL_URL, 'mysql2')],
] as const)('a SQL error on %s', (_name, database) => {
  const logger = new CapturingLogger();
  const prefix = uniquePrefix();
  const users = ['alice', 'bob', 'carol'].map(
    (name) => `${name}-${randomBytes(6).toString('hex')}`,
  );
  let db: Breakable & { table: string };
  let t: TestApp;

  beforeAll(async () => {
    db = await database();
    t = await createTestApp({
      SESSION_TYPE: 'sql',
      DATABASE_URL: db.url,
      SESSION_SQL_TABLE: db.table,
      SESSION_KEY_PREFIX: prefix,
    });
    captureLogs(logger);
  });

  afterAll(async () => {
    await t?.close();
    await db?.tearDown();
    stopCapturingLogs();
  });

  it('reaches neither the log nor the answer with the session id, key or data', async () => {
    const alice = request.agent(t.server);
    const sid = sessionIdOf(await logIn(alice, users[0]));
    expect(sid).toBeDefined();
    const token = await csrfTokenFrom(alice);
    const stranger = request.agent(t.server);
    const strangerToken = await csrfTokenFrom(stranger);

    await db.breakIt();
    const answers: Response[] = [
      // A logged-in visitor logs in again (a new session written), then out (hers deleted).
      await alice
        .post('/login/')
        .type('form')
        .send({ username: users[1], _csrf: token }),
      await alice.post('/logout/').type('form').send({ _csrf: token }),
      // A new visitor logs in, asking for JSON: the session written is hers alone.
      await stranger
        .post('/login/')
        .set('Accept', 'application/json')
        .type('form')
        .send({ username: users[2], _csrf: strangerToken }),
      await alice.get('/login/'),
    ];

    // The failure really happened, and was logged.
    expect(answers.map((res) => res.status)).toContain(503);
    expect(logger.lines.join('\n')).toMatch(/^warn: \w+ failed: /m);

    const secrets = [
      sid!,
      ...users,
      ...users.map((user) => Buffer.from(user).toString('hex')),
    ];
    expectNothingLeaked(logger, answers, secrets, prefix);
  });
});
