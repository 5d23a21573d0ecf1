import { InvalidConfigError } from './invalid-config.error.js';
import { COOKIE_NAME_PATTERN, isPositiveInteger } from './option-checks.js';
import {
  DEFAULT_COOKIE_NAME,
  DEFAULT_LIFETIME_SECONDS,
  DEFAULT_PREFIX,
  DEFAULT_STORE_TIMEOUT_MS,
  SERIALIZATION_FORMATS,
  SESSION_TYPES,
  type ResolvedSessionOptions,
  type SessionModuleOptions,
} from './session.options.js';
import {
  storeOptionProblems,
  withStoreDefaults,
} from './store-option-checks.js';

/**
 * Checks options given to `forRoot`/`forRootAsync` and fills in the defaults. Runs inside the
 * store factory, so both ways of configuring the module fail at boot with every problem listed.
 */
export function validateSessionOptions(
  options: SessionModuleOptions,
): ResolvedSessionOptions {
  const problems: string[] = [];
  const type = (options as { type?: unknown }).type;
  if (!SESSION_TYPES.includes(type as never)) {
    problems.push(
      `type: must be one of ${SESSION_TYPES.join(', ')}, got "${String(type)}"`,
    );
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string')
    problems.push(`prefix: must be a string, got ${String(prefix)}`);
  const serialization = options.serialization ?? 'json';
  if (!SERIALIZATION_FORMATS.includes(serialization))
    problems.push(
      `serialization: must be ${SERIALIZATION_FORMATS.join(' or ')}, got "${String(serialization)}"`,
    );
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
  const afterSession = options.afterSession ?? [];
  if (
    !Array.isArray(afterSession) ||
    afterSession.some((handler) => typeof handler !== 'function')
  )
    problems.push('afterSession: must be a list of middleware functions');
  problems.push(...storeOptionProblems(options, String(prefix)));
  if (problems.length > 0)
    throw new InvalidConfigError(problems, 'Invalid SessionModule options');

  const common = {
    secret: secrets,
    prefix,
    cookie,
    lifetime,
    permanent: options.permanent ?? true,
    storeTimeoutMs,
    touchAfter,
    excludeRoutes: options.excludeRoutes ?? [],
    skipAnonymousReads: options.skipAnonymousReads ?? false,
    afterSession,
    serialization,
  };
  return withStoreDefaults(options, common);
}
