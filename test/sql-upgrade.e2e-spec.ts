/**
 * A session table made by an earlier release (sid, sess, expires_at indexed: no version or
 * sweep_after column, no per-user index table) on each database: the store adds the columns,
 * indexes sweep_after in place of expires_at and makes the index table at start, even when two
 * instances start at once; the sessions already stored keep loading, can be written by
 * compare-and-set, and are swept when they expire.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import knexFactory, { type Knex } from 'knex';
import type { SessionData } from 'express-session';
import type { SessionStoreHandle } from 'nest-server-session';
import {
  call,
  session,
  sessionId,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { MYSQL_URL, POSTGRES_URL } from './utils/store-cases.js';
import { indexedColumns } from './utils/sql-indexes.js';
import { openStoreFromEnv } from './utils/store-from-env.js';
import type { SqlClient } from './utils/store-probes.js';

/** The table as the previous release created it. */
async function createOldTable(db: Knex, table: string, client: SqlClient) {
  const mysql = client === 'mysql2';
  await db.schema.createTable(table, (t) => {
    const sid = t.string('sid', 255).primary();
    if (mysql) sid.collate('utf8mb4_bin');
    if (mysql) t.specificType('sess', 'longblob').notNullable();
    else t.binary('sess').notNullable();
    t.bigInteger('expires_at').notNullable().index();
    if (mysql) t.charset('utf8mb4');
  });
}

describe.each([
  ['SQLite', 'better-sqlite3'],
  ['PostgreSQL', 'pg'],
  ['MySQL', 'mysql2'],
] as const)(
  'a session table from the previous release on %s',
  (_name, client: SqlClient) => {
    const table = `sessions_e2e_${randomBytes(4).toString('hex')}`;
    const handles: SessionStoreHandle[] = [];
    let dir: string | undefined;
    let db: Knex | undefined;

    afterAll(async () => {
      await Promise.all(handles.map((handle) => handle.close()));
      if (db && client !== 'better-sqlite3') {
        await db.schema.dropTableIfExists(`${table}_users`);
        await db.schema.dropTableIfExists(table);
      }
      await db?.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('gets the version column at start, and its sessions keep working', async () => {
      Logger.overrideLogger(['error']);
      dir =
        client === 'better-sqlite3'
          ? await mkdtemp(join(tmpdir(), 'sql-upgrade-'))
          : undefined;
      const url = dir
        ? `sqlite:${join(dir, 'sessions.sqlite')}`
        : client === 'pg'
          ? POSTGRES_URL
          : MYSQL_URL;
      db = knexFactory(
        dir
          ? {
              client,
              connection: { filename: url.slice('sqlite:'.length) },
              useNullAsDefault: true,
            }
          : { client, connection: url },
      );
      await createOldTable(db, table, client);
      const sid = sessionId('upgrade');
      const expiresAt = Date.now() + 3_600_000;
      await db(table).insert([
        {
          sid: `session:${sid}`,
          sess: Buffer.from(JSON.stringify(session({ user: 'ann' }))),
          expires_at: expiresAt,
        },
        {
          sid: `session:${sessionId('ended')}`,
          sess: Buffer.from(JSON.stringify(session())),
          expires_at: Date.now() - 1000,
        },
      ]);

      // Two instances of the new release start at once on the old table.
      const env = {
        SESSION_TYPE: 'sql',
        DATABASE_URL: url,
        SESSION_SQL_TABLE: table,
      };
      const [first, second] = await Promise.all([
        openStoreFromEnv(env),
        openStoreFromEnv(env),
      ]);
      handles.push(first, second);
      expect(await db.schema.hasColumn(table, 'version')).toBe(true);
      expect(await db.schema.hasColumn(table, 'sweep_after')).toBe(true);
      await expect(indexedColumns(db, table, client)).resolves.toEqual([
        'sweep_after',
      ]);
      // And the per-user index table beside it, which the old release did not have.
      expect(await db.schema.hasTable(`${table}_users`)).toBe(true);

      const loaded = await first.backend.load(sid);
      expect(loaded).toEqual({ session: session({ user: 'ann' }), version: 0 });
      await expect(
        call<SessionData | null>((cb) => second.store.get(sid, cb)),
      ).resolves.toMatchObject({ user: 'ann' });
      const outcome = await first.backend.replace(
        sid,
        loaded!.version,
        session({ user: 'bob' }),
        3600,
      );
      expect(outcome.status).toBe('replaced');
      expect(
        (await second.backend.replace(sid, 0, session({ user: 'eve' }), 3600))
          .status,
      ).toBe('conflict');
      expect((await second.backend.load(sid))?.session).toMatchObject({
        user: 'bob',
      });
      // The sweep finds the old rows (sweep_after 0): the ended one goes.
      await db(table).where('sid', `session:${sid}`).update({ sweep_after: 0 });
      await expect(first.backend.removeExpired!()).resolves.toBe(1);
      const left = await db(table).select('sid', 'sweep_after', 'expires_at');
      expect(left).toHaveLength(1);
      expect(Number(left[0].sweep_after)).toBe(Number(left[0].expires_at));
    });
  },
);
