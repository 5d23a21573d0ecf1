import { z } from 'zod';
import {
  ALWAYS,
  connectionUrl,
  prefixRules,
  quote,
  text,
} from '../../options/checks.js';
import {
  cleanupInterval,
  commonOptions,
} from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';
import { SESSION_ID_LENGTH } from '../../session-id.js';
import { SID_COLUMN_LENGTH } from './sql-limits.js';

const MAX_PREFIX_LENGTH = SID_COLUMN_LENGTH - SESSION_ID_LENGTH;

const identifier = () =>
  text(
    (value) => `must be a plain SQL identifier, got ${quote(value)}`,
    (name) => /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name),
  );

/** Options of the SQL store (SQLite, PostgreSQL, MySQL/MariaDB). */
export const sqlOptions = commonOptions
  .extend({
    type: z.literal('sql'),
    /**
     * `sqlite:<path>` (relative to the working directory), `sqlite::memory:`,
     * `postgres://user:pass@host:port/db` or `mysql://user:pass@host:port/db` (MySQL or MariaDB).
     */
    url: fromEnv(
      'DATABASE_URL',
      connectionUrl([
        'sqlite:',
        'postgres:',
        'postgresql:',
        'mysql:',
        'mariadb:',
      ]),
      '`sqlite:<path>` (relative to the working directory; the folder is created) or `sqlite::memory:`; `postgres://user:pass@host:port/db` (or `postgresql://`); `mysql://user:pass@host:port/db` (or `mariadb://`) for MySQL and MariaDB',
      { fallback: () => 'sqlite:./var/sessions.sqlite' },
    ),
    /** Table that holds the sessions; created with its index on first start. @default 'sessions' */
    tableName: fromEnv(
      'SESSION_SQL_TABLE',
      identifier().default('sessions'),
      'table of the sessions; it and its expiry index are created on first start',
      { alias: 'SESSION_SQLALCHEMY_TABLE' },
    ),
    /** Schema of the table (PostgreSQL only); the connection's search path when unset. */
    schemaName: fromEnv(
      'SESSION_SQL_SCHEMA',
      identifier().optional(),
      'schema of the table, created if missing',
      { shownDefault: 'unset (the search path)', usedBy: 'sql on PostgreSQL' },
    ),
    cleanupInterval,
  })
  .superRefine(
    ...prefixRules((prefix) => [
      [...prefix].length > MAX_PREFIX_LENGTH &&
        `at most ${MAX_PREFIX_LENGTH} characters with SQL (the sid column holds ${SID_COLUMN_LENGTH}), got ${[...prefix].length}`,
    ]),
  )
  .refine(
    (o) => o.schemaName === undefined || /^postgres(ql)?:/.test(String(o.url)),
    {
      ...ALWAYS,
      path: ['schemaName'],
      error:
        'only PostgreSQL has schemas (on MySQL the database in the URL is the schema)',
    },
  );
