import type { RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import { escapeRegExp } from './escape-reg-exp.js';
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
  const handler = expressSession(options, store);
  if (!options.skipAnonymousReads) return handler;
  const hasSessionCookie = cookieDetector(options.cookie.name);
  return (req, res, next) => {
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read && !hasSessionCookie(req.headers.cookie)) {
      next();
      return;
    }
    handler(req, res, next);
  };
}

/** Whether a Cookie header carries a cookie called `name` (a quick scan, not a full parse). */
export function cookieDetector(
  name: string,
): (header: string | undefined) => boolean {
  const pattern = new RegExp(`(?:^|;)\\s*${escapeRegExp(name)}=`);
  return (header) => header !== undefined && pattern.test(header);
}

function expressSession(
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
    // Each answer to a stored session re-sends the cookie with a fresh expiry (Flask's
    // SESSION_REFRESH_EACH_REQUEST); the store TTL follows within `touchAfter`.
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
