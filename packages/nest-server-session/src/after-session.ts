import type { Request, RequestHandler } from 'express';

/** The empty sessions lent to requests that skip the session layer. */
const lent = new WeakSet<object>();

/**
 * Gives a request that skips the session layer an empty session for the `afterSession`
 * middleware: passport's `session()` fails without one, and finds no user in this one. Frozen,
 * so nothing can be written to it where it would be lost; it never reaches the store.
 */
export function lendEmptySession(req: Request): void {
  const empty = Object.freeze(Object.create(null) as object);
  lent.add(empty);
  (req as { session?: object }).session = empty;
}

/** Mounted after the `afterSession` middleware: the handler sees no session, as documented. */
export const takeBackEmptySession: RequestHandler = (req, _res, next) => {
  if (req.session && lent.has(req.session))
    delete (req as { session?: object }).session;
  next();
};
