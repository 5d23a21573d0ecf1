import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SessionService } from 'nest-server-session';
import './auth.session.js';

/** Logs users in and out of their server-side session. */
@Injectable()
export class AuthService {
  constructor(private readonly sessions: SessionService) {}

  /**
   * Moves the user to a fresh session id (no fixation) holding `username`. The new session
   * is saved before the old one is destroyed, so a store failure leaves the visitor exactly
   * as they were and the caller answers 503. False when another request (a second tab logging
   * in or out) ended the visitor's session meanwhile: nothing is stored, and no cookie sent.
   */
  logIn(req: Request, username: string): Promise<boolean> {
    return this.sessions.renew(req, { username });
  }

  /** Destroys the stored session; the caller expires the cookie. */
  logOut(req: Request): Promise<void> {
    return this.sessions.destroy(req);
  }
}
