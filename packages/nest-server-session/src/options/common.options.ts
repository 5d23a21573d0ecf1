import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { ALWAYS, MAX_TIMER_MS, flag, integer, quote, text } from './checks.js';
import * as codec from './env-codecs.js';
import { listOr } from './env-codecs.js';
import { fromEnv, type EnvContext } from './env-vars.js';

/** RFC 6265 cookie-name token characters. */
export const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** How a session is encoded in the store; reading accepts either, whatever is configured. */
export const SERIALIZATION_FORMATS = ['json', 'msgpack'] as const;
export type SerializationFormat = (typeof SERIALIZATION_FORMATS)[number];
const SAME_SITE = ['lax', 'strict', 'none'] as const;

export const DEFAULT_PREFIX = 'session:';
/** 31 days, Flask's PERMANENT_SESSION_LIFETIME. */
export const DEFAULT_LIFETIME_SECONDS = 2_678_400;
/** Browsers keep a cookie 400 days at most (RFC 6265bis); far past that its date breaks. */
export const MAX_LIFETIME_SECONDS = 400 * 86_400;
/** No request waits longer; it keeps every timer a store arms from it far inside Node's limit. */
export const MAX_STORE_TIMEOUT_MS = 3_600_000;
/** The longest sweep interval a Node timer can wait. */
export const MAX_CLEANUP_INTERVAL_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

const touchAfterRule = (lifetimeName: string, lifetime: unknown) =>
  `must be a whole number of seconds less than ${lifetimeName}${lifetime === undefined ? '' : ` (${String(lifetime)})`}`;

/** Outside production a missing secret is made up, so the demo runs with no setting at all. */
function randomSecret({ production, warn, fail }: EnvContext) {
  if (production)
    return fail('required when NODE_ENV=production (alias SECRET_KEY)');
  warn(
    'SESSION_SECRET is not set: using a random secret, so sessions end when the process restarts',
  );
  return [randomBytes(32).toString('hex')];
}

const SECRET_REQUIRED = 'required, one or more non-empty strings';
const secret = z
  .union([z.string(), z.array(z.string())], { error: SECRET_REQUIRED })
  .refine((s) => [s].flat().length > 0 && ![s].flat().includes(''), {
    error: SECRET_REQUIRED,
  })
  .transform((s) => [s].flat());

const cookie = z
  .object({
    /** Name of the cookie that carries the signed session id. @default 'session' */
    name: fromEnv(
      'SESSION_COOKIE_NAME',
      text(
        (value) => `not a valid cookie name: ${quote(value)}`,
        (name) => COOKIE_NAME_PATTERN.test(name),
      ).default('session'),
      'name of the session cookie',
    ),
    /** Send the cookie over HTTPS only. @default false */
    secure: fromEnv(
      'SESSION_COOKIE_SECURE',
      flag().default(false),
      'send cookies over HTTPS only',
      {
        fallback: ({ production }) => production,
        shownDefault: '`false` (`true` in production)',
      },
    ),
    /** SameSite attribute. `none` requires `secure`. @default 'lax' */
    sameSite: fromEnv(
      'SESSION_COOKIE_SAMESITE',
      z
        .enum(SAME_SITE, {
          error: (issue) =>
            `must be ${listOr(SAME_SITE)}, got ${quote(issue.input)}`,
        })
        .default('lax'),
      '`Lax`, `Strict` or `None` (`None` requires Secure)',
      {
        codec: codec.oneOf(SAME_SITE, 'must be Lax, Strict or None'),
        shownDefault: '`Lax`',
      },
    ),
    /** Domain attribute; host-only when unset. */
    domain: z.string().optional(),
    /** Path attribute. @default '/' */
    path: z.string().default('/'),
  })
  .refine((c) => c.sameSite !== 'none' || c.secure === true, {
    ...ALWAYS,
    path: ['sameSite'],
    error: '"none" requires cookie.secure (browsers reject it otherwise)',
    params: { env: 'None requires SESSION_COOKIE_SECURE=true' },
  });

/** The options every store takes. */
export const commonOptions = z
  .object({
    /**
     * Secret(s) that sign the session id cookie. With a list, the first signs and all verify,
     * so a secret can be rotated without logging everybody out.
     */
    secret: fromEnv(
      'SESSION_SECRET',
      secret,
      'comma-separated; the first signs, all verify (rotate by putting the new one first)',
      {
        alias: 'SECRET_KEY',
        codec: codec.list,
        fallback: randomSecret,
        shownDefault: 'dev: random, with a warning; production: required',
      },
    ),
    /** Prepended, as given, to the session id to form every stored key. @default 'session:' */
    prefix: fromEnv(
      'SESSION_KEY_PREFIX',
      z
        .string({ error: (i) => `must be a string, got ${String(i.input)}` })
        .default(DEFAULT_PREFIX),
      'prefix of every stored key (`PREFIX + sid`), taken as written (spaces too); set but empty: no prefix',
      { codec: codec.verbatim },
    ),
    /**
     * Lifetime in seconds: the store TTL, set on every write and never longer, and the cookie's
     * Max-Age when `permanent`. At most 400 days. @default 2678400 (31 days)
     */
    lifetime: fromEnv(
      'SESSION_LIFETIME',
      integer(
        'must be a positive integer of seconds',
        1,
        {
          value: MAX_LIFETIME_SECONDS,
          reason: `at most ${MAX_LIFETIME_SECONDS} seconds (400 days, the longest browsers keep a cookie)`,
        },
        'must be a positive integer',
      ).default(DEFAULT_LIFETIME_SECONDS),
      `seconds, at most ${MAX_LIFETIME_SECONDS} (400 days); see [Lifetime](#lifetime)`,
      { shownDefault: '`2678400` (31 days)' },
    ),
    /**
     * `true`: the cookie carries Max-Age = lifetime. `false`: a browser-session cookie; the
     * store still expires the session after `lifetime`. @default true
     */
    permanent: fromEnv(
      'SESSION_PERMANENT',
      flag().default(true),
      '`false`: a browser-session cookie (no Max-Age/Expires); the store still expires it after `SESSION_LIFETIME`',
    ),
    /**
     * Let GET and HEAD requests without a session cookie skip the session layer: `req.session`
     * is undefined there and nothing is made, so handlers read `req.session?.x` and write only on
     * other methods or once a session exists. @default false (from the environment: true)
     */
    skipAnonymousReads: fromEnv(
      'SESSION_SKIP_ANONYMOUS_READS',
      flag().default(false),
      'GET/HEAD requests without a session cookie skip the session layer (no session object, id or hash; `req.session` is undefined there). See [Anonymous visitors](#anonymous-visitors)',
      { fallback: () => true },
    ),
    /** Milliseconds a store call may take before the request fails with 503; at most an hour. @default 1000 */
    storeTimeoutMs: fromEnv(
      'SESSION_STORE_TIMEOUT_MS',
      integer('must be a positive integer', 1, {
        value: MAX_STORE_TIMEOUT_MS,
        reason: `at most ${MAX_STORE_TIMEOUT_MS} ms (an hour)`,
      }).default(1000),
      `deadline of one store call, at most ${MAX_STORE_TIMEOUT_MS} (an hour); past it the request gets a 503`,
    ),
    /**
     * Seconds after a session was written or refreshed before a request that changes nothing
     * refreshes its store expiry again (connect-mongo's `touchAfter`); 0 refreshes on every
     * request. Less than `lifetime`. @default lifetime / 10, rounded down
     */
    touchAfter: fromEnv(
      'SESSION_TOUCH_AFTER',
      integer(
        'must be a whole number of seconds from 0 to less than lifetime',
        0,
      ).optional(),
      'seconds after a write or refresh before a request that changes nothing refreshes the store expiry again; `0` refreshes on every request. See [Lifetime](#lifetime)',
      {
        codec: codec.integer((read) =>
          touchAfterRule('SESSION_LIFETIME', read.lifetime),
        ),
        shownDefault: '`SESSION_LIFETIME / 10`',
      },
    ),
    /**
     * Where a session keeps its user's id, as a dotted path: the key of the per-user index
     * behind `UserSessions` (`passport.user` with passport). @default 'username'
     */
    userIdKey: fromEnv(
      'SESSION_USER_ID_KEY',
      text(
        (value) => `must be a key or a dotted path, got ${quote(value)}`,
        (key) => /^[^.\s]+(\.[^.\s]+)*$/.test(key),
      ).default('username'),
      "where a session keeps its user's id, as a dotted path (`passport.user` with passport): the key of each user's list of sessions (`UserSessions`, the demo's /sessions/)",
    ),
    /** Record each session's client IP address in its user's list of sessions. @default false */
    trackIp: fromEnv(
      'SESSION_TRACK_IP',
      flag().default(false),
      "record the client IP address of each session in its user's list; behind a proxy, set `TRUST_PROXY` so it is the client's",
    ),
    /**
     * Seconds after its creation (a login) that a session ends, however active it is (OWASP's
     * absolute timeout); 0: never. @default 0
     */
    absoluteLifetime: fromEnv(
      'SESSION_ABSOLUTE_LIFETIME',
      integer('must be a whole number of seconds (0: no limit)', 0, {
        value: MAX_LIFETIME_SECONDS,
        reason: `at most ${MAX_LIFETIME_SECONDS} seconds (400 days)`,
      }).default(0),
      'seconds after login that a session ends however active it is; `0`: never. See [Lifetime](#lifetime)',
      { shownDefault: '`0` (the demo app: `604800`, 7 days)' },
    ),
    /** Cookie attributes. HttpOnly is always on. */
    cookie: cookie.prefault({}),
    /** Routes the session middleware skips (Nest route paths), e.g. a health check. @default [] */
    excludeRoutes: z.array(z.string()).default([]),
    /**
     * Middleware mounted right after the session middleware, on the same routes (so not on
     * `excludeRoutes`): what needs `req.session`, such as passport's
     * `[passport.initialize(), passport.session()]`, which `app.use` in main.ts would run before
     * the module's session middleware. On a GET/HEAD that skips the session layer
     * (`skipAnonymousReads`) they see an empty session, frozen and never saved (passport finds no
     * user in it), and `req.session` is undefined again after them. @default []
     */
    afterSession: z
      .custom<RequestHandler[]>(
        (v) => Array.isArray(v) && v.every((f) => typeof f === 'function'),
        { error: 'must be a list of middleware functions' },
      )
      .default([]),
    /**
     * Encoding of new writes: `json`, or `msgpack` (smaller, as Flask-Session 0.7 offers).
     * Sessions stored in the other format still load. @default 'json'
     */
    serialization: fromEnv(
      'SESSION_SERIALIZATION_FORMAT',
      z
        .enum(SERIALIZATION_FORMATS, {
          error: (issue) =>
            `must be ${listOr(SERIALIZATION_FORMATS)}, got ${quote(issue.input)}`,
        })
        .default('json'),
      '`json` or `msgpack` for new writes; either format is read. See [Serialization](#serialization)',
    ),
  })
  .superRefine(({ touchAfter, lifetime }, ctx) => {
    const positive = Number.isSafeInteger(lifetime) && lifetime > 0;
    if (typeof touchAfter === 'number' && positive && touchAfter >= lifetime)
      ctx.addIssue({
        code: 'custom',
        path: ['touchAfter'],
        message: `${touchAfterRule('lifetime', lifetime)}, got ${touchAfter}`,
        params: {
          env: `${touchAfterRule('SESSION_LIFETIME', lifetime)}, got "${touchAfter}"`,
        },
      });
  }, ALWAYS);

/**
 * Seconds between sweeps that delete expired sessions, for the stores that keep them until
 * then (sql, filesystem); 0 disables them (run `npm run sessions:cleanup` from cron instead).
 * @default 3600
 */
export const cleanupInterval = fromEnv(
  'SESSION_CLEANUP_INTERVAL',
  integer('must be a whole number of seconds (0 turns sweeps off)', 0, {
    value: MAX_CLEANUP_INTERVAL_SECONDS,
    reason: `at most ${MAX_CLEANUP_INTERVAL_SECONDS} seconds (24.8 days, the longest Node timer; for rarer sweeps set 0 and run npm run sessions:cleanup from cron)`,
  }).default(3600),
  `seconds between sweeps that delete expired sessions, at most ${MAX_CLEANUP_INTERVAL_SECONDS} (24.8 days); \`0\` turns them off (run \`npm run sessions:cleanup\` from cron instead). Other stores expire sessions themselves, and the app warns that the setting has no effect there`,
  { ignoredBecause: 'which expires sessions itself' },
);
