import {
  isHostPort,
  isNonNegativeInteger,
  isPositiveInteger,
  isUrlWithScheme,
  SQL_IDENTIFIER_PATTERN,
  URL_SCHEMES,
} from './option-checks.js';
import {
  DEFAULT_CLEANUP_INTERVAL_SECONDS,
  DEFAULT_FILE_DIR,
  DEFAULT_MEMORY_MAX_SESSIONS,
  DEFAULT_MONGODB_COLLECTION,
  DEFAULT_SQL_TABLE,
  type ResolvedSessionOptions,
  type SessionModuleOptions,
} from './session.options.js';
import { SESSION_ID_LENGTH } from './session-id.js';
import { MAX_FILE_KEY_BYTES } from './stores/filesystem/file.store.js';
import {
  MEMCACHED_KEY_FORBIDDEN,
  MEMCACHED_MAX_KEY_BYTES,
} from './stores/memcached/memcached-limits.js';

/** File names are base64url(prefix + id) + '.session' and must fit in 255 bytes. */
export const FILE_MAX_PREFIX_BYTES = MAX_FILE_KEY_BYTES - SESSION_ID_LENGTH;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** `a, b or c` */
const listOr = (items: readonly string[]) =>
  items.length < 2
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** Problems with the options of one store type, as `field: reason` lines. */
export function storeOptionProblems(
  options: SessionModuleOptions,
  prefix: string,
): string[] {
  const problems: string[] = [];
  const url = (value: unknown, schemes: readonly string[]) => {
    if (!isUrlWithScheme(value, schemes))
      problems.push(
        `url: must be a ${listOr(schemes)} URL, got "${String(value)}"`,
      );
  };
  const cleanupInterval = (value: unknown) => {
    if (value !== undefined && !isNonNegativeInteger(value))
      problems.push(
        `cleanupInterval: must be a whole number of seconds (0 turns sweeps off), got ${String(value)}`,
      );
  };
  switch (options.type) {
    case 'redis':
      url(options.url, URL_SCHEMES.redis);
      break;
    case 'memcached': {
      const servers: unknown = options.servers;
      if (!Array.isArray(servers) || servers.length === 0) {
        problems.push('servers: required, one or more "host:port"');
      } else {
        for (const server of servers.filter((s) => !isHostPort(s)))
          problems.push(`servers: not a "host:port": "${String(server)}"`);
      }
      const maxPrefix = MEMCACHED_MAX_KEY_BYTES - SESSION_ID_LENGTH;
      if (bytes(prefix) > maxPrefix)
        problems.push(
          `prefix: at most ${maxPrefix} bytes with memcached (keys are limited to ${MEMCACHED_MAX_KEY_BYTES}), got ${bytes(prefix)}`,
        );
      if (MEMCACHED_KEY_FORBIDDEN.test(prefix))
        problems.push(
          'prefix: memcached keys cannot hold spaces or control characters',
        );
      break;
    }
    case 'mongodb':
      url(options.url, URL_SCHEMES.mongodb);
      if (
        options.collectionName !== undefined &&
        !/^(?!system\.)[^$\0]{1,120}$/.test(options.collectionName)
      )
        problems.push(
          `collectionName: not a valid MongoDB collection name: "${options.collectionName}"`,
        );
      break;
    case 'sql':
      url(options.url, URL_SCHEMES.sql);
      for (const field of ['tableName', 'schemaName'] as const) {
        const value = options[field];
        if (value !== undefined && !SQL_IDENTIFIER_PATTERN.test(value))
          problems.push(
            `${field}: must be a plain SQL identifier, got "${value}"`,
          );
      }
      if (
        options.schemaName !== undefined &&
        !/^postgres(ql)?:/.test(String(options.url))
      )
        problems.push(
          'schemaName: only PostgreSQL has schemas (on MySQL the database in the URL is the schema)',
        );
      cleanupInterval(options.cleanupInterval);
      break;
    case 'filesystem':
      if (typeof options.directory === 'string' && options.directory === '')
        problems.push('directory: must not be empty');
      if (bytes(prefix) > FILE_MAX_PREFIX_BYTES)
        problems.push(
          `prefix: at most ${FILE_MAX_PREFIX_BYTES} bytes with the filesystem store (file names are limited to 255), got ${bytes(prefix)}`,
        );
      cleanupInterval(options.cleanupInterval);
      break;
    case 'memory':
      if (
        options.maxSessions !== undefined &&
        !isPositiveInteger(options.maxSessions)
      )
        problems.push(
          `maxSessions: must be a positive integer, got ${String(options.maxSessions)}`,
        );
      break;
  }
  return problems;
}

type Common = Omit<ResolvedSessionOptions, 'type'>;

/** `options` with the common settings resolved and each store's own defaults filled in. */
export function withStoreDefaults(
  options: SessionModuleOptions,
  common: Common,
): ResolvedSessionOptions {
  switch (options.type) {
    case 'redis':
      return { ...options, ...common };
    case 'memcached':
      return { ...options, ...common, servers: [...options.servers] };
    case 'mongodb':
      return {
        ...options,
        ...common,
        collectionName: options.collectionName ?? DEFAULT_MONGODB_COLLECTION,
      };
    case 'sql':
      return {
        ...options,
        ...common,
        tableName: options.tableName ?? DEFAULT_SQL_TABLE,
        cleanupInterval:
          options.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL_SECONDS,
      };
    case 'filesystem':
      return {
        ...options,
        ...common,
        directory: options.directory ?? DEFAULT_FILE_DIR,
        cleanupInterval:
          options.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL_SECONDS,
      };
    case 'memory':
      return {
        ...options,
        ...common,
        maxSessions: options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS,
      };
  }
}
