import { randomBytes } from 'node:crypto';
import { InvalidConfigError } from './invalid-config.error.js';
import { COOKIE_NAME_PATTERN } from './option-checks.js';
import {
  DEFAULT_COOKIE_NAME,
  DEFAULT_LIFETIME_SECONDS,
  DEFAULT_PREFIX,
  DEFAULT_STORE_TIMEOUT_MS,
  SERIALIZATION_FORMATS,
  SESSION_TYPES,
  type SameSite,
  type SerializationFormat,
  type SessionModuleOptions,
  type SessionType,
} from './session.options.js';
import { storeOptionsFromEnv, type EnvReader } from './store.env.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Flask-Session's names for the same stores. */
const TYPE_ALIASES: Record<string, string> = {
  sqlalchemy: 'sql',
  cachelib: 'filesystem',
};

export interface SessionEnvResult {
  options: SessionModuleOptions;
  /** Things that work but should not reach production, e.g. a generated secret. */
  warnings: string[];
}

/**
 * Maps environment variables onto {@link SessionModuleOptions}. The only reader of the
 * SESSION_* variables: it collects every problem, one `VARIABLE: reason` line each, then throws.
 */
export function sessionOptionsFromEnv(env: Env): SessionEnvResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const production = env.NODE_ENV === 'production';
  const read: EnvReader = (name) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const positiveInt = (name: string, fallback: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (
      !/^\d+$/.test(raw) ||
      Number(raw) <= 0 ||
      !Number.isSafeInteger(Number(raw))
    ) {
      problems.push(`${name}: must be a positive integer, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name}: must be true or false, got "${raw}"`);
    return fallback;
  };

  const rawType = (read('SESSION_TYPE') ?? 'sql').toLowerCase();
  const knownType = TYPE_ALIASES[rawType] ?? rawType;
  let type: SessionType | undefined;
  if (SESSION_TYPES.includes(knownType as SessionType)) {
    type = knownType as SessionType;
  } else {
    problems.push(
      `SESSION_TYPE: must be one of ${[...SESSION_TYPES, ...Object.keys(TYPE_ALIASES)].join(', ')}, got "${rawType}"`,
    );
  }
  const serialization = (
    read('SESSION_SERIALIZATION_FORMAT') ?? 'json'
  ).toLowerCase() as SerializationFormat;
  if (!SERIALIZATION_FORMATS.includes(serialization)) {
    problems.push(
      `SESSION_SERIALIZATION_FORMAT: must be ${SERIALIZATION_FORMATS.join(' or ')}, got "${serialization}"`,
    );
  }

  const secretVar =
    read('SESSION_SECRET') !== undefined ? 'SESSION_SECRET' : 'SECRET_KEY';
  let secret = (read(secretVar) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (secret.length === 0) {
    if (production) {
      problems.push(
        'SESSION_SECRET: required when NODE_ENV=production (alias SECRET_KEY)',
      );
    } else {
      secret = [randomBytes(32).toString('hex')];
      warnings.push(
        'SESSION_SECRET is not set: using a random secret, so sessions end when the process restarts',
      );
    }
  }

  const sameSiteRaw = (read('SESSION_COOKIE_SAMESITE') ?? 'lax').toLowerCase();
  if (!['lax', 'strict', 'none'].includes(sameSiteRaw)) {
    problems.push(
      `SESSION_COOKIE_SAMESITE: must be Lax, Strict or None, got "${sameSiteRaw}"`,
    );
  }
  const secure = bool('SESSION_COOKIE_SECURE', production);
  if (sameSiteRaw === 'none' && !secure) {
    problems.push(
      'SESSION_COOKIE_SAMESITE: None requires SESSION_COOKIE_SECURE=true',
    );
  }
  const cookieName = read('SESSION_COOKIE_NAME') ?? DEFAULT_COOKIE_NAME;
  if (!COOKIE_NAME_PATTERN.test(cookieName)) {
    problems.push(
      `SESSION_COOKIE_NAME: not a valid cookie name: "${cookieName}"`,
    );
  }

  const lifetime = positiveInt('SESSION_LIFETIME', DEFAULT_LIFETIME_SECONDS);
  const touchAfterRaw = read('SESSION_TOUCH_AFTER');
  let touchAfter: number | undefined;
  if (touchAfterRaw !== undefined) {
    if (!/^\d+$/.test(touchAfterRaw) || Number(touchAfterRaw) >= lifetime) {
      problems.push(
        `SESSION_TOUCH_AFTER: must be a whole number of seconds less than SESSION_LIFETIME (${lifetime}), got "${touchAfterRaw}"`,
      );
    } else {
      touchAfter = Number(touchAfterRaw);
    }
  }

  const common = {
    secret,
    prefix: read('SESSION_KEY_PREFIX') ?? DEFAULT_PREFIX,
    lifetime,
    touchAfter,
    permanent: bool('SESSION_PERMANENT', true),
    skipAnonymousReads: bool('SESSION_SKIP_ANONYMOUS_READS', true),
    storeTimeoutMs: positiveInt(
      'SESSION_STORE_TIMEOUT_MS',
      DEFAULT_STORE_TIMEOUT_MS,
    ),
    cookie: { name: cookieName, secure, sameSite: sameSiteRaw as SameSite },
    serialization,
  };
  // Connection settings are only checked for a type that exists.
  const options = type
    ? storeOptionsFromEnv(type, common, read, problems, warnings)
    : undefined;
  if (problems.length > 0 || !options) throw new InvalidConfigError(problems);
  return { options, warnings };
}
