import { InvalidConfigError } from './invalid-config.error.js';
import {
  COOKIE_NAME_PATTERN,
  isPositiveInteger,
  isUrlWithScheme,
  SQL_IDENTIFIER_PATTERN,
} from './option-checks.js';
import {
  DEFAULT_COOKIE_NAME,
  DEFAULT_LIFETIME_SECONDS,
  DEFAULT_MEMORY_MAX_SESSIONS,
  DEFAULT_PREFIX,
  DEFAULT_SQL_TABLE,
  DEFAULT_STORE_TIMEOUT_MS,
  KNOWN_SESSION_TYPES,
  SUPPORTED_SESSION_TYPES,
  type ResolvedSessionOptions,
  type SessionModuleOptions,
} from './session.options.js';

/**
 * Checks options given to `forRoot`/`forRootAsync` and fills in the defaults. Runs inside the
 * store factory, so both ways of configuring the module fail at boot with every problem listed.
 */
export function validateSessionOptions(
  options: SessionModuleOptions,
): ResolvedSessionOptions {
  const problems: string[] = [];
  const type = (options as { type?: unknown }).type;
  if (!SUPPORTED_SESSION_TYPES.includes(type as never)) {
    problems.push(
      KNOWN_SESSION_TYPES.includes(type as never)
        ? `type: "${String(type)}" is not available in this version (available: ${SUPPORTED_SESSION_TYPES.join(', ')})`
        : `type: must be one of ${SUPPORTED_SESSION_TYPES.join(', ')}, got "${String(type)}"`,
    );
  }
  const secrets = [options.secret].flat();
  if (
    secrets.length === 0 ||
    secrets.some((s) => typeof s !== 'string' || s === '')
  ) {
    problems.push('secret: required, one or more non-empty strings');
  }
  const lifetime = options.lifetime ?? DEFAULT_LIFETIME_SECONDS;
  if (!isPositiveInteger(lifetime)) {
    problems.push(
      `lifetime: must be a positive integer of seconds, got ${String(lifetime)}`,
    );
  }
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  if (!isPositiveInteger(storeTimeoutMs)) {
    problems.push(
      `storeTimeoutMs: must be a positive integer, got ${String(storeTimeoutMs)}`,
    );
  }
  const touchAfter =
    options.touchAfter ??
    Math.floor((isPositiveInteger(lifetime) ? lifetime : 0) / 10);
  if (
    !Number.isSafeInteger(touchAfter) ||
    touchAfter < 0 ||
    (isPositiveInteger(lifetime) && touchAfter >= lifetime)
  ) {
    problems.push(
      `touchAfter: must be a whole number of seconds from 0 to less than lifetime, got ${String(touchAfter)}`,
    );
  }
  // `??` per field, not a spread: a field given as undefined must still get its default.
  const given = options.cookie ?? {};
  const cookie = {
    name: given.name ?? DEFAULT_COOKIE_NAME,
    secure: given.secure ?? false,
    sameSite: given.sameSite ?? 'lax',
    path: given.path ?? '/',
    domain: given.domain,
  };
  if (!COOKIE_NAME_PATTERN.test(cookie.name)) {
    problems.push(`cookie.name: not a valid cookie name: "${cookie.name}"`);
  }
  if (!['lax', 'strict', 'none'].includes(cookie.sameSite)) {
    problems.push(
      `cookie.sameSite: must be lax, strict or none, got "${String(cookie.sameSite)}"`,
    );
  } else if (cookie.sameSite === 'none' && !cookie.secure) {
    problems.push(
      'cookie.sameSite: "none" requires cookie.secure (browsers reject it otherwise)',
    );
  }
  if (options.type === 'redis' || options.type === 'sql') {
    const schemes =
      options.type === 'redis' ? ['redis:', 'rediss:'] : ['sqlite:'];
    if (!isUrlWithScheme(options.url, schemes)) {
      problems.push(
        `url: must be a ${schemes.join(' or ')} URL, got "${String(options.url)}"`,
      );
    }
  }
  if (
    options.type === 'sql' &&
    options.tableName !== undefined &&
    !SQL_IDENTIFIER_PATTERN.test(options.tableName)
  ) {
    problems.push(
      `tableName: must be a plain SQL identifier, got "${options.tableName}"`,
    );
  }
  if (
    options.type === 'memory' &&
    options.maxSessions !== undefined &&
    !isPositiveInteger(options.maxSessions)
  ) {
    problems.push(
      `maxSessions: must be a positive integer, got ${String(options.maxSessions)}`,
    );
  }
  if (problems.length > 0)
    throw new InvalidConfigError(problems, 'Invalid SessionModule options');

  const common = {
    secret: secrets,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    cookie,
    lifetime,
    permanent: options.permanent ?? true,
    storeTimeoutMs,
    touchAfter,
    excludeRoutes: options.excludeRoutes ?? [],
    skipAnonymousReads: options.skipAnonymousReads ?? false,
  };
  switch (options.type) {
    case 'redis':
      return { ...options, ...common };
    case 'sql':
      return {
        ...options,
        ...common,
        tableName: options.tableName ?? DEFAULT_SQL_TABLE,
      };
    case 'memory':
      return {
        ...options,
        ...common,
        maxSessions: options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS,
      };
  }
}
