import type { Knex } from 'knex';
import type { SessionTable } from './session-table.js';
import { derivedName, SID_COLUMN_LENGTH } from './sql-limits.js';
import { USER_ID_COLUMN_LENGTH } from './user-key.js';

/**
 * Added with compare-and-set writes: each write stores a new random version, and a replace
 * lands only on the version it read. Tables made before it get it at start, at 0 for the
 * sessions they hold, so nobody is logged out by the upgrade.
 */
const VERSION_COLUMN = 'version';
const COLUMNS = ['sid', 'sess', 'expires_at', VERSION_COLUMN];

/**
 * Makes the session table (and its schema) when missing, with the expiry index, or adds the
 * version column to a table from an earlier release; then the per-user index table beside it
 * (which an earlier release did not have either). Two instances starting at once may both
 * try: a failed change is fine when the tables have everything afterwards.
 */
export async function prepareSessionTable(table: SessionTable): Promise<void> {
  if (table.schema)
    await table.runSchema(
      table.db.schema.createSchemaIfNotExists(table.schema),
    );
  const change = changeNeeded(table, await columnsOf(table.rows(), table));
  if (change) {
    try {
      await table.runSchema(change);
    } catch (err) {
      if (changeNeeded(table, await columnsOf(table.rows(), table))) throw err;
    }
  }
  const hasUserTable = async () =>
    (await columnsOf(table.userRows(), table)).length > 0;
  if (await hasUserTable()) return;
  try {
    await table.runSchema(createUserTable(table));
  } catch (err) {
    if (!(await hasUserTable())) throw err;
  }
}

async function columnsOf(
  rows: Knex.QueryBuilder,
  table: SessionTable,
): Promise<string[]> {
  // A query builder at run time, whatever knex's types say: so it gets the deadline.
  const query = rows.columnInfo() as unknown as Knex.QueryBuilder;
  const info = await table.run<Record<string, unknown>>(query);
  return Object.keys(info);
}

function changeNeeded(
  table: SessionTable,
  columns: string[],
): Knex.SchemaBuilder | undefined {
  if (columns.length === 0) return createTable(table);
  if (COLUMNS.every((column) => columns.includes(column))) return undefined;
  if (!columns.includes(VERSION_COLUMN))
    return table
      .schemaBuilder()
      .alterTable(table.name, (t) =>
        t.bigInteger(VERSION_COLUMN).notNullable().defaultTo(0),
      );
  // Columns of ours missing from an existing table: not a session table we can fix.
  return undefined;
}

function createTable(table: SessionTable): Knex.SchemaBuilder {
  const mysql = table.dialect === 'mysql';
  const name = table.name;
  // Named as knex would, unless that is too long: PostgreSQL would cut `<name>_pkey` of a
  // 63-character name down to the table's own name, and refuse it.
  return table.schemaBuilder().createTable(name, (t) => {
    sidColumn(t, mysql).primary(derivedName(name, '_pkey'));
    if (mysql) t.specificType('sess', 'longblob').notNullable();
    else t.binary('sess').notNullable();
    t.bigInteger('expires_at')
      .notNullable()
      .index(derivedName(name, '_expires_at_index'));
    t.bigInteger(VERSION_COLUMN).notNullable().defaultTo(0);
    if (mysql) t.charset('utf8mb4');
  });
}

/**
 * The per-user index: a row per session of a user (`user_id`, `sid` as in the session table),
 * with what the user's list shows of its device (JSON) and `expires_at`, until when the entry
 * is kept even without a session (epoch ms; see SqlUserIndex). The primary key leads with the
 * user, so that one user's entries are one index range; `expires_at` is indexed for the sweep.
 */
function createUserTable(table: SessionTable): Knex.SchemaBuilder {
  const mysql = table.dialect === 'mysql';
  const name = table.usersName;
  return table.schemaBuilder().createTable(name, (t) => {
    // Bytes on MySQL: its text comparisons ignore case and trailing spaces (`bob ` = `Bob`),
    // and one user must never see another's sessions. Up to 4 bytes a character.
    if (mysql)
      t.specificType(
        'user_id',
        `varbinary(${USER_ID_COLUMN_LENGTH * 4})`,
      ).notNullable();
    else t.string('user_id', USER_ID_COLUMN_LENGTH).notNullable();
    sidColumn(t, mysql).notNullable();
    t.text('device').notNullable();
    t.bigInteger('expires_at')
      .notNullable()
      .index(derivedName(name, '_expires_at_index'));
    // (knex's options object would come out as SQL text on SQLite and MySQL; a name does not.)
    t.primary(['user_id', 'sid'], derivedName(name, '_pkey'));
    if (mysql) t.charset('utf8mb4');
  });
}

function sidColumn(t: Knex.CreateTableBuilder, mysql: boolean) {
  const sid = t.string('sid', SID_COLUMN_LENGTH);
  // MySQL compares strings case-insensitively by default; ids differ by case alone.
  if (mysql) sid.collate('utf8mb4_bin');
  return sid;
}
