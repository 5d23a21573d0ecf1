import { createHash } from 'node:crypto';

/**
 * Length of the `sid` column (`varchar(255)`), in characters: a key is the prefix followed by the
 * session id, so the prefix must leave room for the id.
 */
export const SID_COLUMN_LENGTH = 255;

/** Longest name every database takes whole: PostgreSQL cuts at 63 bytes, MySQL refuses over 64. */
const MAX_IDENTIFIER_LENGTH = 63;
/** Hex digits of the digest that keeps shortened names apart. */
const NAME_DIGEST_LENGTH = 8;

/**
 * `base + suffix` (the names of tables and indexes made beside the session table), shortened
 * when too long for an identifier: cut, then ended by a digest of the whole name, so that two
 * long table names sharing a beginning still get different names.
 */
export function derivedName(base: string, suffix: string): string {
  const name = base + suffix;
  if (name.length <= MAX_IDENTIFIER_LENGTH) return name;
  const digest = createHash('sha256')
    .update(name)
    .digest('hex')
    .slice(0, NAME_DIGEST_LENGTH);
  return `${name.slice(0, MAX_IDENTIFIER_LENGTH - NAME_DIGEST_LENGTH - 1)}_${digest}`;
}
