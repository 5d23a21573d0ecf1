import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import signature from 'cookie-signature';
import onHeaders from 'on-headers';
import type {
  ConsistentStore,
  RequestSession,
} from './stores/common/consistent-store.js';

/**
 * Settles a request's session before its answer goes out, rather than after the headers, as
 * express-session does. Only then can the answer follow what actually happened in the store:
 * - a session another request destroyed meanwhile (logout elsewhere, a new login) gets no
 *   cookie, so a slow request cannot hand the browser its old session back. No expired cookie
 *   either: it could land after, and wipe, the cookie of the login that ended the session;
 * - a write that fails turns the answer into a 503, and nothing is written twice;
 * - the cookie is re-sent (with a fresh expiry) exactly when the store expiry was moved, so
 *   cookie and store entry end together, and a page view that refreshes nothing sends none.
 * Streamed answers (headers sent before `end`) keep express-session's own order.
 *
 * Returns two steps: `before` runs ahead of express-session (so that its header listener runs
 * after express-session's), `after` once express-session has loaded the session.
 */
export function sessionCommitSteps(
  store: ConsistentStore,
  cookieName: string,
  secret: string,
): {
  before(req: Request, res: Response): void;
  after(req: Request, res: Response): void;
} {
  const logger = new Logger('SessionCommit');
  const before = (req: Request, res: Response) =>
    onHeaders(res, () => {
      const session = req.session as RequestSession | undefined;
      if (
        session?.cookie.expires &&
        // As express-session: a Secure cookie never goes out over plain HTTP.
        (!session.cookie.secure || req.secure) &&
        store.wasRefreshed(session) &&
        !hasSessionCookie(res, cookieName)
      )
        res.append(
          'Set-Cookie',
          // The same signed value and attributes express-session's own cookie has.
          (session.cookie as unknown as SerializableCookie).serialize(
            cookieName,
            's:' + signature.sign(req.sessionID, secret),
          ),
        );
    });
  const after = (req: Request, res: Response) => {
    const end = res.end;
    res.end = function (this: Response, ...args: unknown[]) {
      const send = () => end.apply(res, args as never);
      if (res.headersSent || !req.session) return send();
      commit(req, store).then(send, (err: unknown) => {
        logger.warn(
          `Session not saved; answering 503: ${err instanceof Error ? err.message : String(err)}`,
        );
        answerUnavailable(req, res, end);
      });
      return res;
    } as Response['end'];
  };
  return { before, after };
}

async function commit(req: Request, store: ConsistentStore): Promise<void> {
  const session = req.session as RequestSession;
  if (store.hasUnsavedChanges(session)) {
    // Through the session's own save: express-session then counts it as saved.
    await new Promise<void>((resolve, reject) =>
      session.save((err) => (err ? reject(err as Error) : resolve())),
    );
  } else if (
    store.isStored(session) &&
    !store.fateOf(session) &&
    !store.wasRefreshed(session)
  ) {
    session.touch();
    // A refresh that fails leaves the answer alone: nothing the visitor did is lost.
    await new Promise<void>((resolve) =>
      store.touch(req.sessionID, session as never, () => resolve()),
    );
  }
  // express-session then neither sends a cookie nor writes at the end.
  if (store.fateOf(session)) delete (req as { session?: unknown }).session;
}

function hasSessionCookie(res: Response, name: string): boolean {
  const header = res.getHeader('Set-Cookie');
  const cookies = Array.isArray(header)
    ? header
    : header
      ? [String(header)]
      : [];
  return cookies.some((cookie) => cookie.startsWith(`${name}=`));
}

/**
 * The handler's answer assumed a session that could not be saved: replaced by a 503 in the
 * format Nest uses for errors (JSON when asked for, else plain text).
 */
function answerUnavailable(
  req: Request,
  res: Response,
  end: Response['end'],
): void {
  delete (req as { session?: unknown }).session;
  for (const name of res.getHeaderNames())
    if (!KEPT_HEADERS.test(name)) res.removeHeader(name);
  res.statusCode = 503;
  const body = {
    statusCode: 503,
    error: 'Service Unavailable',
    message: 'Session store unavailable; nothing was changed. Try again.',
  };
  const json = req.accepts(['html', 'json']) === 'json';
  res.setHeader(
    'Content-Type',
    json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
  );
  res.setHeader('Retry-After', '1');
  (end as (chunk: string) => Response).call(
    res,
    json ? JSON.stringify(body) : body.message,
  );
}

/** Security headers set before the handler ran stay on the error answer. */
const KEPT_HEADERS =
  /^(content-security-policy|cross-origin-|origin-agent-cluster|referrer-policy|strict-transport-security|x-content-type-options|x-dns-prefetch-control|x-download-options|x-frame-options|x-permitted-cross-domain-policies|x-xss-protection)/i;

/** express-session's Cookie serialises itself; its type declarations leave that out. */
interface SerializableCookie {
  serialize(name: string, value: string): string;
}
