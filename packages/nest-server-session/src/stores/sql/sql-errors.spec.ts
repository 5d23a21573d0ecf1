import { describe, expect, it } from '@jest/globals';
import { SqlStoreError, toSqlStoreError } from './sql-errors.js';

const KEY = 'session:uU8Iq3zQ0-aBcDeFgHiJkLmNoPqRsTuVw';
const HEX = Buffer.from('{"user":"ann"}').toString('hex');

/** A driver error as knex hands it over: the SQL, with its values, before the driver's text. */
function knexError(
  driverMessage: string,
  fields: Record<string, unknown>,
): Error {
  return Object.assign(
    new Error(
      `update \`sessions\` set \`sess\` = X'${HEX}' where \`sid\` = '${KEY}' - ${driverMessage}`,
    ),
    { sql: `... '${KEY}'`, bindings: [KEY], ...fields },
  );
}

describe('toSqlStoreError', () => {
  it.each([
    [
      'MySQL, a missing table',
      knexError("Table 'test.sessions' doesn't exist", {
        code: 'ER_NO_SUCH_TABLE',
        errno: 1146,
        sqlMessage: "Table 'test.sessions' doesn't exist",
      }),
      'the session table does not exist (ER_NO_SUCH_TABLE)',
    ],
    [
      'MySQL, a duplicate key (its message quotes the value)',
      knexError(`Duplicate entry '${KEY}' for key 'PRIMARY'`, {
        code: 'ER_DUP_ENTRY',
        sqlMessage: `Duplicate entry '${KEY}' for key 'PRIMARY'`,
      }),
      'database error (ER_DUP_ENTRY)',
    ],
    [
      'PostgreSQL, a missing table',
      knexError('relation "sessions" does not exist', { code: '42P01' }),
      'the session table does not exist (42P01)',
    ],
    [
      'PostgreSQL, a bad byte sequence (its message quotes bytes)',
      knexError('invalid byte sequence for encoding "UTF8": 0x7b 0x22', {
        code: '22021',
        detail: KEY,
      }),
      'database error (22021)',
    ],
    [
      'SQLite, a lock held elsewhere',
      knexError('database is locked', { code: 'SQLITE_BUSY' }),
      'the database is locked (SQLITE_BUSY)',
    ],
    [
      'SQLite, a missing table',
      knexError('no such table: sessions', { code: 'SQLITE_ERROR' }),
      'the session table does not exist (SQLITE_ERROR)',
    ],
    [
      'pg, a connection dropped',
      knexError('Connection terminated unexpectedly', {}),
      'the connection to the database failed',
    ],
    [
      'knex, after the store was closed',
      new Error('Unable to acquire a connection'),
      'Unable to acquire a connection: the store is closed',
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        code: 'ECONNREFUSED',
      }),
      'the connection to the database failed (ECONNREFUSED)',
    ],
  ])('%s', (_case, err, message) => {
    const wrapped = toSqlStoreError(err);
    expect(wrapped).toBeInstanceOf(SqlStoreError);
    expect(wrapped.message).toBe(message);
    expect(wrapped.cause).toBeUndefined();
    const everything = `${wrapped.stack} ${JSON.stringify(wrapped)}`;
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(HEX);
  });

  it('tells a statement that timed out from a pool that had no connection', () => {
    const statement = Object.assign(new Error('Defined query timeout…'), {
      name: 'KnexTimeoutError',
      timeout: 500,
      sql: KEY,
    });
    expect(toSqlStoreError(statement).message).toMatch(
      /^Timeout: no answer within 500 ms/,
    );
    const pool = Object.assign(new Error('Knex: Timeout acquiring…'), {
      name: 'KnexTimeoutError',
    });
    expect(toSqlStoreError(pool).message).toBe(
      'Timeout acquiring a connection',
    );
  });
});
