import type { SessionModuleOptions, SessionType } from './session.options.js';
import { DEFAULT_MEMCACHED_SERVERS } from './session.options.js';
import { storeOptionProblems } from './store-option-checks.js';

export type EnvReader = (name: string) => string | undefined;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'sqlite:./var/sessions.sqlite';
export const DEFAULT_MONGODB_URL = 'mongodb://127.0.0.1:27017/sessions';

/** Which variable sets each store option, so a problem names what the operator wrote. */
const VARIABLE_OF_OPTION: Record<string, string> = {
  prefix: 'SESSION_KEY_PREFIX',
  servers: 'MEMCACHED_SERVERS',
  collectionName: 'SESSION_MONGODB_COLLECTION',
  tableName: 'SESSION_SQL_TABLE',
  schemaName: 'SESSION_SQL_SCHEMA',
  directory: 'SESSION_FILE_DIR',
  cleanupInterval: 'SESSION_CLEANUP_INTERVAL',
};
const URL_VARIABLE: Partial<Record<SessionType, string>> = {
  redis: 'REDIS_URL',
  mongodb: 'MONGODB_URL',
  sql: 'DATABASE_URL',
};
/** Stores that keep expired sessions until they are swept. */
const SWEPT_TYPES: SessionType[] = ['sql', 'filesystem'];

/**
 * The store-specific part of the environment mapping: connection variables with the
 * machine-local defaults, checked by the same rules as `forRoot` options and reported under
 * the variable's name.
 */
export function storeOptionsFromEnv(
  type: SessionType,
  common: Omit<SessionModuleOptions, 'type'>,
  read: EnvReader,
  problems: string[],
  warnings: string[],
): SessionModuleOptions {
  const cleanupRaw = read('SESSION_CLEANUP_INTERVAL');
  let cleanupInterval: number | undefined;
  if (cleanupRaw !== undefined && !SWEPT_TYPES.includes(type)) {
    warnings.push(
      `SESSION_CLEANUP_INTERVAL has no effect with SESSION_TYPE=${type}, which expires sessions itself`,
    );
  } else if (cleanupRaw !== undefined) {
    if (/^\d+$/.test(cleanupRaw)) cleanupInterval = Number(cleanupRaw);
    else
      problems.push(
        `SESSION_CLEANUP_INTERVAL: must be a whole number of seconds (0 turns sweeps off), got "${cleanupRaw}"`,
      );
  }
  const options = ((): SessionModuleOptions => {
    switch (type) {
      case 'redis':
        return { ...common, type, url: read('REDIS_URL') ?? DEFAULT_REDIS_URL };
      case 'memcached':
        return {
          ...common,
          type,
          servers:
            read('MEMCACHED_SERVERS')
              ?.split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '') ?? DEFAULT_MEMCACHED_SERVERS,
        };
      case 'mongodb':
        return {
          ...common,
          type,
          url: read('MONGODB_URL') ?? DEFAULT_MONGODB_URL,
          collectionName: read('SESSION_MONGODB_COLLECTION'),
        };
      case 'sql':
        return {
          ...common,
          type,
          url: read('DATABASE_URL') ?? DEFAULT_DATABASE_URL,
          // Flask-Session's name for the same setting is accepted too.
          tableName:
            read('SESSION_SQL_TABLE') ?? read('SESSION_SQLALCHEMY_TABLE'),
          schemaName: read('SESSION_SQL_SCHEMA'),
          cleanupInterval,
        };
      case 'filesystem':
        return {
          ...common,
          type,
          directory: read('SESSION_FILE_DIR'),
          cleanupInterval,
        };
      case 'memory':
        return { ...common, type };
    }
  })();
  const variableOf = (option: string) =>
    option === 'url'
      ? URL_VARIABLE[type]!
      : (VARIABLE_OF_OPTION[option] ?? option);
  for (const problem of storeOptionProblems(options, common.prefix ?? '')) {
    const colon = problem.indexOf(':');
    problems.push(variableOf(problem.slice(0, colon)) + problem.slice(colon));
  }
  return options;
}
