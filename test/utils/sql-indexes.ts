import type { Knex } from 'knex';
import type { SqlClient } from './store-probes.js';

/** The columns of `table`'s indexes, but the primary key's. */
export async function indexedColumns(
  db: Knex,
  table: string,
  client: SqlClient,
): Promise<string[]> {
  if (client === 'better-sqlite3') {
    const indexes = await db.raw<{ name: string; origin: string }[]>(
      `pragma index_list(${table})`,
    );
    const columns = await Promise.all(
      indexes
        .filter((index) => index.origin === 'c')
        .map((index) =>
          db.raw<{ name: string }[]>(`pragma index_info("${index.name}")`),
        ),
    );
    return columns.flat().map((column) => column.name);
  }
  if (client === 'pg') {
    const { rows } = await db.raw<{ rows: { column: string }[] }>(
      `select a.attname as column from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = ?::regclass and not i.indisprimary`,
      [table],
    );
    return rows.map((row) => row.column);
  }
  const [rows] = await db.raw<[{ Column_name: string; Key_name: string }[]]>(
    'show index from ??',
    [table],
  );
  return rows
    .filter((row) => row.Key_name !== 'PRIMARY')
    .map((row) => row.Column_name);
}
