import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { doubleCsrf, type DoubleCsrfUtilities } from 'csrf-csrf';
import type { Request, Response } from 'express';
import {
  RESOLVED_SESSION_OPTIONS,
  type ResolvedSessionOptions,
} from 'nest-server-session';

/** Form field that carries the token. */
export const CSRF_FIELD = '_csrf';

const REUSE_PROBE = Symbol('csrf reuse probe');
type ProbedRequest = Request & { [REUSE_PROBE]?: string };

/**
 * Signed double-submit CSRF tokens (csrf-csrf): the token lives in a cookie and in the form,
 * and is an HMAC over a random value and the client's session id, so anonymous visitors cost
 * no store write and a token issued to one client is refused from another.
 */
@Injectable()
export class CsrfService {
  /** `__Host-` pins the cookie to this host and path, but browsers allow it only when Secure. */
  readonly cookieName: string;
  private readonly csrf: DoubleCsrfUtilities;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS)
    private readonly session: ResolvedSessionOptions,
  ) {
    this.cookieName = session.cookie.secure ? '__Host-csrf' : 'csrf';
    // A key of its own, so CSRF HMACs never share a key with session-id signatures.
    const secrets = session.secret.map((s) =>
      createHmac('sha256', s).update('csrf-token').digest('hex'),
    );
    this.csrf = doubleCsrf({
      getSecret: () => secrets,
      getSessionIdentifier: (req) => this.clientIdentity(req),
      cookieName: this.cookieName,
      cookieOptions: {
        secure: session.cookie.secure,
        sameSite: 'lax',
        httpOnly: true,
        path: '/',
      },
      getCsrfTokenFromRequest: (req) => {
        const probe = (req as ProbedRequest)[REUSE_PROBE];
        if (probe !== undefined) return probe;
        const fromBody = (req.body as Record<string, unknown> | undefined)?.[
          CSRF_FIELD
        ];
        return typeof fromBody === 'string'
          ? fromBody
          : req.headers['x-csrf-token'];
      },
    });
  }

  /**
   * The token for a form. The token cookie already held is reused while it is still valid for
   * this client, without sending it again; otherwise a new one is issued and set.
   */
  token(req: Request, res: Response): string {
    const held = (req.cookies as Record<string, unknown> | undefined)?.[
      this.cookieName
    ];
    if (typeof held === 'string' && held !== '') {
      // csrf-csrf checks a token against the cookie; offering the cookie itself as the token
      // asks whether the cookie is intact and bound to this client.
      const probed = req as ProbedRequest;
      probed[REUSE_PROBE] = held;
      const valid = this.csrf.validateRequest(req);
      delete probed[REUSE_PROBE];
      if (valid) return held;
    }
    return this.csrf.generateCsrfToken(req, res, { overwrite: true });
  }

  /**
   * A new token, set in the cookie, where the one held cannot be valid any more: after a login,
   * which binds tokens to the new session (checking the old one would cost an HMAC for a known
   * answer).
   */
  renew(req: Request, res: Response): string {
    return this.csrf.generateCsrfToken(req, res, { overwrite: true });
  }

  isValid(req: Request): boolean {
    return this.csrf.validateRequest(req);
  }

  /**
   * The session's id once it holds data (so it is stored: empty sessions never are);
   * otherwise empty, and the random half of the token cookie alone tells clients apart.
   * Read at the end of a login too, so the token issued there is bound to the new session.
   */
  private clientIdentity(req: Request): string {
    const session = req.session as (object & { cookie?: unknown }) | undefined;
    const holdsData =
      session !== undefined &&
      Object.keys(session).some((key) => key !== 'cookie');
    return holdsData ? req.sessionID : '';
  }
}
