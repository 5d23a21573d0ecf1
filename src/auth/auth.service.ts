import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Session, SessionData, Store } from 'express-session';
import './auth.session.js';

type GeneratingStore = Store & { generate(req: Request): void };

/** Logs users in and out of their server-side session. */
@Injectable()
export class AuthService {
  /**
   * Moves the user to a fresh session id (no fixation) holding `username`. The new session
   * is saved before the old one is destroyed, so a store failure leaves the visitor exactly
   * as they were and the caller can answer 503.
   */
  async logIn(req: Request, username: string): Promise<void> {
    const previous = { id: req.sessionID, session: req.session };
    const store = req.sessionStore as GeneratingStore;
    store.generate(req);
    req.session.username = username;
    try {
      await saveSession(req.session);
    } catch (err) {
      // Put the old session back so express-session neither sends a cookie for the unsaved
      // session nor tries to save it again.
      req.sessionID = previous.id;
      req.session = previous.session;
      throw err;
    }
    if (previous.session.username !== undefined) {
      await new Promise<void>((resolve, reject) =>
        store.destroy(previous.id, (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  /** Destroys the stored session; the caller expires the cookie. */
  logOut(req: Request): Promise<void> {
    return new Promise((resolve, reject) =>
      req.session.destroy((err) => (err ? reject(err) : resolve())),
    );
  }
}

function saveSession(session: Session & Partial<SessionData>): Promise<void> {
  return new Promise((resolve, reject) =>
    session.save((err) => (err ? reject(err) : resolve())),
  );
}
