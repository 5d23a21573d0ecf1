import { createHash } from 'node:crypto';

/** Length of the `user_id` column of the index table, in characters. */
export const USER_ID_COLUMN_LENGTH = 255;
/** Begins the key of every user id stored as a digest, and of no user id stored as it is. */
const DIGEST_MARK = '#sha256:';
/** With the `u` flag a pair is one code point: only a surrogate on its own matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The `user_id` a user's index entries are stored under: the id itself, so that an operator
 * can read the table, unless the column could not hold it as it is (too long, a NUL that
 * PostgreSQL refuses, a lone surrogate that UTF-8 cannot carry): then a digest of it. An id
 * that begins like a digest is stored as a digest too, so no user can take another's key by
 * choosing a name.
 */
export function userKey(userId: string): string {
  const plain =
    [...userId].length <= USER_ID_COLUMN_LENGTH &&
    !userId.includes('\0') &&
    !LONE_SURROGATE.test(userId) &&
    !userId.startsWith(DIGEST_MARK);
  if (plain) return userId;
  // UTF-16 code units, which keep lone surrogates apart where UTF-8 would merge them.
  const digest = createHash('sha256')
    .update(Buffer.from(userId, 'utf16le'))
    .digest('hex');
  return DIGEST_MARK + digest;
}
