import type { RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { createSessionIdGenerator } from './session-id.js';
import type { ResolvedSessionOptions } from './session.options.js';

/**
 * express-session configured for server-side sessions that cost nothing for anonymous
 * visitors: nothing is stored or sent until a handler writes to the session.
 */
export function createSessionMiddleware(
  options: ResolvedSessionOptions,
  store: Store,
): RequestHandler {
  const { cookie } = options;
  return session({
    store,
    genid: createSessionIdGenerator(),
    name: cookie.name,
    secret: options.secret,
    resave: false,
    saveUninitialized: false,
    // Each answer to a stored session re-sends the cookie and refreshes the store TTL, so
    // both expire `lifetime` after the last visit (Flask's SESSION_REFRESH_EACH_REQUEST).
    rolling: true,
    // Never delete a stored session because a handler dropped req.session.
    unset: 'keep',
    cookie: {
      httpOnly: true,
      secure: cookie.secure,
      sameSite: cookie.sameSite,
      path: cookie.path,
      domain: cookie.domain,
      maxAge: options.permanent ? options.lifetime * 1000 : undefined,
    },
  });
}
