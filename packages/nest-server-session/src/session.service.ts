import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { SessionData } from 'express-session';
import { SESSION_STORE } from './session.constants.js';
import type { RequestSession } from './stores/common/consistent-store.js';
import type { SessionStoreHandle } from './stores/common/store-handle.js';

/**
 * Session operations that stay right under concurrent requests on one session, for handlers
 * that need more than `req.session` (whose changes are saved with the answer, key by key, onto
 * whatever other requests stored meanwhile).
 */
@Injectable()
export class SessionService {
  constructor(
    @Inject(SESSION_STORE) private readonly handle: SessionStoreHandle,
  ) {}

  /**
   * Read-modify-write of the request's session, for counters and anything computed from what
   * is stored: `change` runs on the version stored now and is run again if another request
   * wrote in between, so 50 concurrent `s.n = (s.n ?? 0) + 1` make 50. Resolves with the
   * stored data (also in `req.session`), or null when the session no longer exists.
   *
   * @example await sessions.update(req, (s) => { s.views = (s.views ?? 0) + 1; });
   */
  update(
    req: Request,
    change: (session: SessionData) => void | Promise<void>,
  ): Promise<SessionData | null> {
    return this.handle.store.update(sessionOf(req), change);
  }

  /**
   * Moves the visitor to a fresh session id holding only `data` (a login), stored before the
   * old session is destroyed: a store failure rejects with a 503 and leaves the visitor as
   * they were. Resolves false, storing nothing, when another request ended the old session
   * meanwhile (of concurrent logins from one browser, one wins).
   */
  renew(req: Request, data: Partial<SessionData>): Promise<boolean> {
    sessionOf(req);
    return this.handle.store.renew(req, data);
  }

  /** Ends the request's session in the store; the answer sends no cookie for it. */
  destroy(req: Request): Promise<void> {
    const session = sessionOf(req);
    return new Promise((resolve, reject) =>
      session.destroy((err) => (err ? reject(err as Error) : resolve())),
    );
  }
}

function sessionOf(req: Request): RequestSession {
  if (!req.session)
    throw new Error(
      'This request has no session: the route is excluded from the session middleware, or it is a GET/HEAD without a session cookie under skipAnonymousReads',
    );
  return req.session;
}
