/**
 * A failed SQL statement, described without anything of the statement. knex puts the SQL with
 * its bound values into its error messages (the session id, and on SQLite the whole session in
 * hex), and some driver messages quote values too (MySQL's "Duplicate entry '…'"), so neither
 * is kept, not even as `cause`: only the driver's error code and a reason chosen here.
 */
export class SqlStoreError extends Error {
  constructor(
    /** What went wrong, in words that name no session, value or credential. */
    readonly reason: string,
    /** The driver's code (SQLSTATE, `ER_…`, `SQLITE_…`, `ECONNREFUSED`), when it gave one. */
    readonly code?: string,
  ) {
    super(code ? `${reason} (${code})` : reason);
    this.name = 'SqlStoreError';
  }
}

/** Reasons by driver code: PostgreSQL's SQLSTATE, mysql2's `ER_…`, better-sqlite3's `SQLITE_…`. */
const REASONS: [codes: string[], reason: string][] = [
  [['42P01', 'ER_NO_SUCH_TABLE'], 'the session table does not exist'],
  [['42703', 'ER_BAD_FIELD_ERROR'], 'a column of the session table is missing'],
  [['3D000', 'ER_BAD_DB_ERROR'], 'the database does not exist'],
  [
    ['28P01', '28000', 'ER_ACCESS_DENIED_ERROR'],
    'the database refused the login',
  ],
  [['SQLITE_BUSY', 'SQLITE_LOCKED'], 'the database is locked'],
  [['55P03', 'ER_LOCK_WAIT_TIMEOUT'], 'a row stayed locked too long'],
  [['40P01', 'ER_LOCK_DEADLOCK'], 'a deadlock was broken'],
  [['SQLITE_CANTOPEN'], 'the database file cannot be opened'],
  [['SQLITE_READONLY'], 'the database is read-only'],
  [['SQLITE_FULL', '53100', 'ER_RECORD_FILE_FULL'], 'the disk is full'],
  [
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ENOTFOUND',
      'EAI_AGAIN',
      'PROTOCOL_CONNECTION_LOST',
      '57P01',
      '57P03',
    ],
    'the connection to the database failed',
  ],
];

/** SQLite reports a missing table or column with the generic SQLITE_ERROR code. */
const SQLITE_MESSAGES: [RegExp, string][] = [
  [/^no such table/, 'the session table does not exist'],
  [
    /^(no such column|table \S+ has no column)/,
    'a column of the session table is missing',
  ],
];

/** A statement that got no answer within `timeoutMs`. */
export const statementTimeout = (timeoutMs: number) =>
  new SqlStoreError(
    `Timeout: no answer within ${timeoutMs} ms; the connection is dropped, and the statement may still complete on the server`,
  );

/** `err`, whatever the driver made of it, as a {@link SqlStoreError}. */
export function toSqlStoreError(err: unknown): SqlStoreError {
  if (err instanceof SqlStoreError) return err;
  const { name, code, message, timeout } = (err ?? {}) as {
    name?: string;
    code?: unknown;
    message?: unknown;
    timeout?: unknown;
  };
  const text = typeof message === 'string' ? message : '';
  if (name === 'KnexTimeoutError')
    return typeof timeout === 'number'
      ? statementTimeout(timeout)
      : new SqlStoreError('Timeout acquiring a connection');
  const driverCode = typeof code === 'string' ? code : undefined;
  if (driverCode) {
    const known = REASONS.find(([codes]) => codes.includes(driverCode));
    if (known) return new SqlStoreError(known[1], driverCode);
    if (
      driverCode.startsWith('SQLITE_BUSY') ||
      driverCode.startsWith('SQLITE_LOCKED')
    )
      return new SqlStoreError('the database is locked', driverCode);
    const sqlite = SQLITE_MESSAGES.find(([pattern]) =>
      pattern.test(driverMessage(text)),
    );
    if (driverCode === 'SQLITE_ERROR' && sqlite)
      return new SqlStoreError(sqlite[1], driverCode);
    return new SqlStoreError('database error', driverCode);
  }
  // pg reports a dropped connection without a code.
  if (driverMessage(text).startsWith('Connection terminated'))
    return new SqlStoreError('the connection to the database failed');
  // knex, once its pool is destroyed.
  if (text.startsWith('Unable to acquire a connection'))
    return new SqlStoreError(
      'Unable to acquire a connection: the store is closed',
    );
  return new SqlStoreError(`unexpected ${name ?? 'error'}`);
}

/** The driver's own message: knex puts the SQL and its values before it, then " - ". */
function driverMessage(text: string): string {
  const at = text.lastIndexOf(' - ');
  return at < 0 ? text : text.slice(at + 3);
}
