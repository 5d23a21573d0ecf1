import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** Stands for a named parameter while knex compiles a statement: knex binds it like any value. */
const PARAMETER_MARK = '\0param:';

/**
 * A statement's SQL in the dialect's own syntax (`?` placeholders, or `$1`… on PostgreSQL),
 * with a name that is the same for the same text, as PostgreSQL's named statements need.
 */
export interface SqlText {
  readonly name: string;
  readonly text: string;
}

/**
 * A statement compiled once and run through the driver's own prepared statements, so that a
 * call costs no query building.
 */
export interface PreparedSql<P> extends SqlText {
  /** The values of the placeholders, in their order in the text. */
  values(params: P): unknown[];
}

/**
 * Compiles the statement `build` makes of named parameters, with knex, once: knex still
 * writes the SQL (quoting, the table's schema, each dialect's upsert), just not on every call.
 */
export function prepareSql<P extends object>(
  build: (params: P) => Knex.QueryBuilder,
): PreparedSql<P> {
  const named = new Proxy({} as P, {
    get: (_, key) => PARAMETER_MARK + String(key),
  });
  const { sql, bindings } = build(named).toSQL().toNative();
  // A parameter knex wrote into the text instead of binding it would be a constant.
  if (sql.includes(PARAMETER_MARK))
    throw new Error('prepareSql: a parameter was not bound');
  const slots = bindings.map((binding) =>
    typeof binding === 'string' && binding.startsWith(PARAMETER_MARK)
      ? (binding.slice(PARAMETER_MARK.length) as keyof P)
      : { constant: binding },
  );
  return {
    name: `s_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`,
    text: sql,
    values: (params) =>
      slots.map((slot) =>
        typeof slot === 'object' ? slot.constant : params[slot],
      ),
  };
}
