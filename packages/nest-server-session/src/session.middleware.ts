import type { RequestHandler } from 'express';
import session from 'express-session';
import { lendEmptySession, takeBackEmptySession } from './after-session.js';
import { escapeRegExp } from './escape-reg-exp.js';
import { sessionCommitSteps } from './session-commit.js';
import { createSessionIdGenerator } from './session-id.js';
import type { ResolvedSessionOptions } from './options/session.options.js';
import type { ConsistentStore } from './stores/common/consistent-store.js';

/**
 * The session middleware followed by the app's `afterSession` middleware (passport), in the
 * order SessionModule mounts them on every route it serves.
 */
export function createSessionMiddlewares(
  options: ResolvedSessionOptions,
  store: ConsistentStore,
): RequestHandler[] {
  const sessions = createSessionMiddleware(options, store);
  if (options.afterSession.length === 0) return [sessions];
  return [sessions, ...options.afterSession, takeBackEmptySession];
}

/**
 * express-session configured for server-side sessions that cost nothing for anonymous
 * visitors (nothing is stored or sent until a handler writes to the session), and settled
 * before the answer goes out (see {@link sessionCommitSteps}).
 */
export function createSessionMiddleware(
  options: ResolvedSessionOptions,
  store: ConsistentStore,
): RequestHandler {
  const handler = expressSession(options, store);
  const commit = sessionCommitSteps(
    store,
    options.cookie.name,
    options.secret[0],
  );
  const hasSessionCookie = cookieDetector(options.cookie.name);
  return (req, res, next) => {
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (
      options.skipAnonymousReads &&
      read &&
      !hasSessionCookie(req.headers.cookie)
    ) {
      if (options.afterSession.length > 0) lendEmptySession(req);
      next();
      return;
    }
    commit.before(req, res);
    handler(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.session) commit.after(req, res);
      next();
    });
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
  store: ConsistentStore,
): RequestHandler {
  const { cookie } = options;
  return session({
    store,
    genid: createSessionIdGenerator(),
    name: cookie.name,
    secret: options.secret,
    resave: false,
    saveUninitialized: false,
    // The cookie is re-sent with a fresh expiry whenever the store expiry moves (every
    // `touchAfter`, and on each write), by sessionCommitSteps, so both end together.
    rolling: false,
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
