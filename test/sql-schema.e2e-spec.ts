/** SESSION_SQL_SCHEMA on the machine's PostgreSQL: the schema and table are made on first start. */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import knexFactory from 'knex';
import {
  call,
  session,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { POSTGRES_URL } from './utils/store-cases.js';
import { openStoreFromEnv } from './utils/store-from-env.js';

const schema = `e2e_schema_${randomBytes(4).toString('hex')}`;
const db = knexFactory({ client: 'pg', connection: POSTGRES_URL });

afterAll(async () => {
  await db.raw('drop schema if exists ?? cascade', [schema]);
  await db.destroy();
});

it('keeps sessions in SESSION_SQL_SCHEMA.SESSION_SQL_TABLE, creating both', async () => {
  Logger.overrideLogger(['error']);
  const handle = await openStoreFromEnv({
    SESSION_TYPE: 'sql',
    DATABASE_URL: POSTGRES_URL,
    SESSION_SQL_SCHEMA: schema,
    SESSION_SQL_TABLE: 'web_sessions',
  });
  try {
    await call((cb) => handle.store.set('sid', session({ n: 1 }), cb));
    expect(await call((cb) => handle.store.get('sid', cb))).toMatchObject({
      n: 1,
    });
    const rows = await db
      .withSchema(schema)
      .from('web_sessions')
      .select<{ sid: string }[]>('sid');
    expect(rows.map((row) => row.sid)).toEqual(['session:sid']);
    const { rows: indexes } = await db.raw<{ rows: { indexdef: string }[] }>(
      'select indexdef from pg_indexes where schemaname = ? and tablename = ?',
      [schema, 'web_sessions'],
    );
    const definitions = indexes.map((i) => i.indexdef).join('\n');
    // The sweep's index; none on expires_at, which every touch changes.
    expect(definitions).toMatch(/\(sweep_after\)/);
    expect(definitions).not.toMatch(/\(expires_at\)/);
  } finally {
    await handle.close();
  }
});
