import type { Knex } from 'knex';
import type { SessionTable } from './session-table.js';
import { derivedName, SID_COLUMN_LENGTH } from './sql-limits.js';
import { SWEEP_AFTER } from './sweep-after.js';
import { USER_ID_COLUMN_LENGTH } from './user-key.js';

/**
 * Added with compare-and-set writes: each write stores a new random version, and a replace
 * lands only on the version it read. Tables made before it get it at start, at 0 for the
 * sessions they hold, so nobody is logged out by the upgrade.
 */
const VERSION_COLUMN = 'version';
/** The columns a session table of an earlier release has, which an upgrade can build on. */
const BASE_COLUMNS = ['sid', 'sess', 'expires_at'];

/**
 * Makes the session table (and its schema) when missing, with the sweep's index, or upgrades a
 * table from an earlier release: adds the version column, and `sweep_after` with its index in
 * place of the index of `expires_at` (rows already there hold 0 until the sweep sets them: see
 * sql-sweep.ts); then the per-user index table beside it (which an earlier release did not have
 * either). Two instances starting at once may both try: a failed change is fine when the
 * tables have everything afterwards.
 */
export async function prepareSessionTable(table: SessionTable): Promise<void> {
  if (table.schema)
    await table.runSchema(
      table.db.schema.createSchemaIfNotExists(table.schema),
    );
  const columns = () => columnsOf(table.rows(), table);
  const found = await columns();
  if (found.length === 0)
    await tolerated(
      table,
      createTable(table),
      async () => (await columns()).length > 0,
    );
  // Columns of ours missing from an existing table: not a session table we can fix.
  else if (BASE_COLUMNS.every((column) => found.includes(column))) {
    if (!found.includes(VERSION_COLUMN))
      await tolerated(table, addVersion(table), async () =>
        (await columns()).includes(VERSION_COLUMN),
      );
    if (!found.includes(SWEEP_AFTER)) {
      await tolerated(table, addSweepAfter(table), async () =>
        (await columns()).includes(SWEEP_AFTER),
      );
      // Best effort: another instance may have dropped it, or the table never had it by this
      // name; the sweep no longer reads it, and with it every touch would still update it.
      await table
        .runSchema(
          table
            .schemaBuilder()
            .alterTable(table.name, (t) =>
              t.dropIndex([], derivedName(table.name, '_expires_at_index')),
            ),
        )
        .catch(() => undefined);
    }
  }
  const hasUserTable = async () =>
    (await columnsOf(table.userRows(), table)).length > 0;
  if (!(await hasUserTable()))
    await tolerated(table, createUserTable(table), hasUserTable);
}

/** Runs `change`; a failure is fine if `done()` says what it was for is there anyway. */
async function tolerated(
  table: SessionTable,
  change: Knex.SchemaBuilder,
  done: () => Promise<boolean>,
): Promise<void> {
  try {
    await table.runSchema(change);
  } catch (err) {
    if (!(await done())) throw err;
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

function addVersion(table: SessionTable): Knex.SchemaBuilder {
  return table
    .schemaBuilder()
    .alterTable(table.name, (t) =>
      t.bigInteger(VERSION_COLUMN).notNullable().defaultTo(0),
    );
}

function addSweepAfter(table: SessionTable): Knex.SchemaBuilder {
  return table
    .schemaBuilder()
    .alterTable(table.name, (t) => sweepAfterColumn(t, table.name));
}

/** `sweep_after`, indexed; 0 for rows written without it (see sweep-after.ts). */
function sweepAfterColumn(t: Knex.CreateTableBuilder, name: string) {
  t.bigInteger(SWEEP_AFTER)
    .notNullable()
    .defaultTo(0)
    .index(derivedName(name, '_sweep_after_index'));
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
    t.bigInteger('expires_at').notNullable();
    t.bigInteger(VERSION_COLUMN).notNullable().defaultTo(0);
    sweepAfterColumn(t, name);
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
