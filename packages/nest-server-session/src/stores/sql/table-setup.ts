import type { Knex } from 'knex';
import type { SessionTable } from './session-table.js';

/**
 * Added with compare-and-set writes: each write stores a new random version, and a replace
 * lands only on the version it read. Tables made before it get it at start, at 0 for the
 * sessions they hold, so nobody is logged out by the upgrade.
 */
const VERSION_COLUMN = 'version';
const COLUMNS = ['sid', 'sess', 'expires_at', VERSION_COLUMN];

/**
 * Makes the session table (and its schema) when missing, with the expiry index, or adds the
 * version column to a table from an earlier release. Two instances starting at once may both
 * try: a failed change is fine when the table has everything afterwards.
 */
export async function prepareSessionTable(table: SessionTable): Promise<void> {
  if (table.schema)
    await table.runSchema(
      table.db.schema.createSchemaIfNotExists(table.schema),
    );
  const change = changeNeeded(table, await columnsOf(table));
  if (!change) return;
  try {
    await table.runSchema(change);
  } catch (err) {
    if (changeNeeded(table, await columnsOf(table))) throw err;
  }
}

async function columnsOf(table: SessionTable): Promise<string[]> {
  // A query builder at run time, whatever knex's types say: so it gets the deadline.
  const query = table.rows().columnInfo() as unknown as Knex.QueryBuilder;
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
  return table.schemaBuilder().createTable(table.name, (t) => {
    const sid = t.string('sid', 255).primary();
    // MySQL compares strings case-insensitively by default; ids differ by case alone.
    if (mysql) sid.collate('utf8mb4_bin');
    if (mysql) t.specificType('sess', 'longblob').notNullable();
    else t.binary('sess').notNullable();
    t.bigInteger('expires_at').notNullable().index();
    t.bigInteger(VERSION_COLUMN).notNullable().defaultTo(0);
    if (mysql) t.charset('utf8mb4');
  });
}
