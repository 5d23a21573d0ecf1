/**
 * express-session's `Store` interface as a request uses it, outside express-session: the
 * calls as promises, the request object a session belongs to, and sessions made, loaded and
 * finished the way the middleware does it (so that ours and every peer see the same calls).
 */
import { randomBytes } from 'node:crypto';
import session from 'express-session';

const { Cookie, Session } = session;

/** A user agent, as a browser sends one: our store records it in the user's index. */
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

/** A 32-character base64url id (192 bits), as express-session and our module make them. */
export const newSessionId = () => randomBytes(24).toString('base64url');

/** `store[method](...args, cb)` as a promise; also a rejected promise the method returns. */
export function call(store, method, ...args) {
  return new Promise((resolve, reject) => {
    const returned = store[method](...args, (err, value) =>
      err ? reject(err) : resolve(value),
    );
    // Some peers reject their own promise instead of calling back (connect-session-knex's touch).
    if (returned && typeof returned.then === 'function')
      returned.then(undefined, reject);
  });
}

/** What express-session's Session keeps of the request it belongs to. */
export const requestFor = (sid) => ({
  sessionID: sid,
  headers: { 'user-agent': USER_AGENT },
  ip: '127.0.0.1',
});

/** Cookie settings as the demo app sends them (production: Secure, HttpOnly, Lax). */
export const cookieOptions = (maxAgeMs) => ({
  maxAge: maxAgeMs,
  httpOnly: true,
  secure: true,
  sameSite: 'lax',
  path: '/',
});

/** A new session as express-session's `generate` makes it, holding `data` (a login). */
export function newSession(sid, data, maxAgeMs) {
  const fresh = new Session(requestFor(sid));
  fresh.cookie = new Cookie(cookieOptions(maxAgeMs));
  return Object.assign(fresh, data);
}

/** The request's session from what `get` returned, as express-session builds it. */
export const sessionOf = (store, sid, data) =>
  store.createSession(requestFor(sid), data);

/** `get` + `createSession`: a request's loaded session, or null when there is none. */
export async function load(store, sid) {
  const data = await call(store, 'get', sid);
  return data ? sessionOf(store, sid, data) : null;
}

/**
 * The end of a request that changed nothing: express-session moves the cookie's expiry and
 * touches the store (`resave: false`, the session unmodified).
 */
export function finishUnchanged(store, sid, loaded) {
  loaded.touch();
  return call(store, 'touch', sid, loaded);
}

/** The end of a request that changed the session: a new expiry, and `set` of the whole session. */
export function finishChanged(store, sid, loaded) {
  loaded.touch();
  return call(store, 'set', sid, loaded);
}
