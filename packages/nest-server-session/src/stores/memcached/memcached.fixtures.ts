/** Test helpers of the memcached specs; not part of the build (see tsconfig.build.json). */
import type { ResolvedOptionsOf } from '../../options/session.options.js';

/** The store's options as the module resolves them, on `servers`, prefix `test:`. */
export function memcachedOptionsFor(
  servers: string[],
  overrides: Partial<ResolvedOptionsOf<'memcached'>> = {},
): ResolvedOptionsOf<'memcached'> {
  return {
    type: 'memcached',
    servers,
    secret: ['test'],
    prefix: 'test:',
    lifetime: 31 * 24 * 3600,
    permanent: true,
    storeTimeoutMs: 500,
    touchAfter: 0,
    excludeRoutes: [],
    afterSession: [],
    userIdKey: 'username',
    trackIp: false,
    absoluteLifetime: 0,
    skipAnonymousReads: false,
    serialization: 'json',
    cookie: { name: 'session', secure: false, sameSite: 'lax', path: '/' },
    ...overrides,
  };
}
