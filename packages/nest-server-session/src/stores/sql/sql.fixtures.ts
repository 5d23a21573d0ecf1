/** Test helpers of the SQL store's specs; not part of the build (see tsconfig.build.json). */
import knex, { type Knex } from 'knex';
import { createSessionCodec } from '../common/session-codec.js';
import { KnexSessionBackend } from './knex-session.store.js';
import { SessionTable } from './session-table.js';

/** A SQLite database in memory, gone when destroyed. */
export function memoryDatabase(): Knex {
  return knex({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
  });
}

/** The SQL store on `table` of `db` under `prefix`, its tables made, a 1 s deadline. */
export async function openBackend(
  db: Knex,
  table: string,
  prefix: string,
): Promise<KnexSessionBackend> {
  const opened = new KnexSessionBackend(
    new SessionTable(db, table, undefined, 1000),
    prefix,
    createSessionCodec(),
  );
  await opened.ready();
  return opened;
}
