import { z } from 'zod';
import { filesystemOptions } from '../stores/filesystem/filesystem.options.js';
import { memcachedOptions } from '../stores/memcached/memcached.options.js';
import { memoryOptions } from '../stores/memory/memory.options.js';
import { mongodbOptions } from '../stores/mongodb/mongodb.options.js';
import { redisOptions } from '../stores/redis/redis.options.js';
import { sqlOptions } from '../stores/sql/sql.options.js';
import { quote } from './checks.js';
import { commonOptions } from './common.options.js';
import { InvalidConfigError } from './invalid-config.error.js';

/** Each store's options schema, from its folder. */
export const STORE_OPTIONS = [
  redisOptions,
  memcachedOptions,
  mongodbOptions,
  sqlOptions,
  filesystemOptions,
  memoryOptions,
] as const;

/** Every store type. */
export const SESSION_TYPES = STORE_OPTIONS.map(
  (store) => store.shape.type.value,
);
export type SessionType = (typeof SESSION_TYPES)[number];

/**
 * Options of {@link SessionModule}: one shape per store type, keyed on `type`, so that
 * `forRoot({ type: 'redis', secret })` without a `url` does not compile.
 */
export const sessionOptionsSchema = z
  .discriminatedUnion('type', STORE_OPTIONS)
  .transform((options) => ({
    ...options,
    touchAfter: options.touchAfter ?? Math.floor(options.lifetime / 10),
  }));

export type SessionModuleOptions = z.input<typeof sessionOptionsSchema>;
/** Options after {@link validateSessionOptions}: defaults filled in, secrets as a list. */
export type ResolvedSessionOptions = z.output<typeof sessionOptionsSchema>;
/** The resolved options of one store type, as its store file receives them. */
export type ResolvedOptionsOf<T extends SessionType> = Extract<
  ResolvedSessionOptions,
  { type: T }
>;

/** One problem with some options: the option's dotted path, why, and how to say it of a variable. */
export interface OptionIssue {
  path: string;
  message: string;
  /** The reason in the environment's words, where it names other options. */
  env?: string;
}

/**
 * Checks `input` against its type's schema. With an unknown type the common options are still
 * checked, so that every problem is listed at once.
 */
export function parseSessionOptions(
  input: unknown,
):
  | { options: ResolvedSessionOptions; issues?: never }
  | { issues: OptionIssue[] } {
  const type = (input as { type?: unknown } | undefined)?.type;
  const known = SESSION_TYPES.includes(type as SessionType);
  const result = known
    ? sessionOptionsSchema.safeParse(input)
    : commonOptions.safeParse(input);
  if (known && result.success)
    return { options: result.data as ResolvedSessionOptions };
  const issues = (result.error?.issues ?? []).map((issue) => ({
    // An array entry's problem is the array's: the message quotes the entry.
    path: issue.path.filter((key) => typeof key === 'string').join('.'),
    message: issue.message,
    env: (issue as { params?: { env?: string } }).params?.env,
  }));
  if (!known)
    issues.unshift({
      path: 'type',
      message: `must be one of ${SESSION_TYPES.join(', ')}, got ${quote(type)}`,
      env: undefined,
    });
  return { issues };
}

/**
 * Checks options given to `forRoot`/`forRootAsync` and fills in the defaults. Runs inside the
 * store factory, so both ways of configuring the module fail at boot with every problem listed.
 */
export function validateSessionOptions(
  options: SessionModuleOptions,
): ResolvedSessionOptions {
  const parsed = parseSessionOptions(options);
  if (parsed.issues)
    throw new InvalidConfigError(
      parsed.issues.map(({ path, message }) => `${path}: ${message}`),
      'Invalid SessionModule options',
    );
  return parsed.options;
}
