/**
 * Correctness facts about a store, checked the same way on ours and on every peer, through the
 * express-session `Store` interface (and, for the recorded expiry, by reading the server). A
 * peer failing one is a finding to report, not a failure of the run.
 */
import { performance } from 'node:perf_hooks';
import session from 'express-session';
import {
  call,
  cookieOptions,
  finishUnchanged,
  load,
  newSession,
  newSessionId,
  sessionOf,
} from './store-calls.mjs';
import { LIFETIME_MS } from './store-workload.mjs';

/** A miss slower than this is not "quick": a page would wait for it. */
export const QUICK_MISS_MS = 50;
const SHORT_COOKIE_MS = 2000;
/** Past the short cookie's expiry, with room for memcached's one-second clock. */
const AFTER_SHORT_MS = 3500;
const HOUR_MS = 3600 * 1000;

export const CHECKS = [
  {
    id: 'roundTrip',
    title:
      'round trip (set, then get returns it; 31-day cookie, the default lifetime)',
  },
  {
    id: 'expiryRecorded',
    title: 'expiry recorded (stored expiry − cookie expiry, 1 h cookie)',
  },
  {
    id: 'expires',
    title: 'gone once its cookie has expired (2 s cookie, read at 3.5 s)',
  },
  { id: 'touchExpired', title: 'touch does not revive an expired session' },
  { id: 'touchUnknown', title: 'touch does not create an unknown session' },
  {
    id: 'unknownMiss',
    title: `unknown id is a quick miss (no error, under ${QUICK_MISS_MS} ms)`,
  },
  { id: 'destroy', title: 'destroy removes it' },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
const describeError = (err) => `${err.code ?? err.name ?? 'error'}`;

/** `work()` timed; never throws: resolves with { value } or { error }, and the ms it took. */
async function timed(work) {
  const t = performance.now();
  try {
    const value = await work();
    return { value, took: performance.now() - t };
  } catch (error) {
    return { error, took: performance.now() - t };
  }
}

/** Stores a new session holding `data` with a cookie of `maxAgeMs`; resolves with its id. */
async function stored(side, data, maxAgeMs) {
  const sid = newSessionId();
  const fresh = newSession(sid, data, maxAgeMs);
  await call(side.store, 'set', sid, fresh);
  return { sid, session: fresh };
}

/** What a read of `sid` finds now, for a detail line: "nothing", or the keys that came back. */
async function found(side, sid) {
  const after = await timed(() => call(side.store, 'get', sid));
  // express-session takes an ENOENT error from `get` for "no session" (session-file-store's).
  if (after.error?.code === 'ENOENT')
    return {
      present: false,
      said: `not stored (get: ENOENT error after ${ms(after.took)})`,
    };
  if (after.error)
    return {
      present: undefined,
      said: `get failed: ${describeError(after.error)}`,
    };
  if (!after.value) return { present: false, said: 'not stored' };
  const keys = Object.keys(after.value).filter((k) => k !== 'cookie');
  return {
    present: true,
    said: `stored again (keys: ${keys.join(', ') || 'cookie only'})`,
  };
}

/** Every check on `side`; resolves with { [check id]: { ok, detail } }. */
export async function checkSide(side) {
  const results = {};
  const started = Date.now();
  // The short-lived sessions first, so that they expire while the other checks run. One is
  // loaded now, while live, by a request that will touch it only after it expired.
  const short = await stored(
    side,
    { username: 'short', views: 1 },
    SHORT_COOKIE_MS,
  );
  const late = await stored(
    side,
    { username: 'late', views: 1 },
    SHORT_COOKIE_MS,
  );
  const lateRequest = await load(side.store, late.sid);

  const trip = await stored(
    side,
    { username: 'alice', views: 3, cart: { items: [1, 2] } },
    LIFETIME_MS,
  );
  const back = await timed(() => call(side.store, 'get', trip.sid));
  if (back.error || !back.value) {
    results.roundTrip = {
      ok: false,
      detail: back.error
        ? `get failed: ${describeError(back.error)}`
        : 'not found',
    };
  } else {
    const v = back.value;
    const drift = Math.abs(
      new Date(v.cookie?.expires).getTime() -
        trip.session.cookie.expires.getTime(),
    );
    const same =
      v.username === 'alice' &&
      v.views === 3 &&
      JSON.stringify(v.cart) === JSON.stringify({ items: [1, 2] });
    results.roundTrip = {
      ok: same && drift <= 1000,
      detail: same
        ? drift <= 1000
          ? 'data and cookie back'
          : `cookie expiry off by ${ms(drift)}`
        : 'data differs',
    };
  }

  const hour = await stored(side, { username: 'hour', views: 1 }, HOUR_MS);
  const recorded = await timed(() => side.expiryOf(hour.sid));
  if (recorded.error || recorded.value === null) {
    results.expiryRecorded = {
      ok: false,
      detail: recorded.error
        ? `could not read it: ${recorded.error.message}`
        : 'no expiry recorded',
    };
  } else {
    const off = (recorded.value - hour.session.cookie.expires.getTime()) / 1000;
    results.expiryRecorded = {
      ok: Math.abs(off) <= 2,
      detail: `${off >= 0 ? '+' : ''}${off.toFixed(1)} s`,
    };
  }

  const unknown = newSessionId();
  const miss = await timed(() => call(side.store, 'get', unknown));
  const quiet =
    !miss.error && (miss.value === null || miss.value === undefined);
  results.unknownMiss = {
    ok: quiet && miss.took < QUICK_MISS_MS,
    detail: miss.error
      ? `${describeError(miss.error)} error after ${ms(miss.took)}`
      : quiet
        ? `miss in ${ms(miss.took)}`
        : 'returned a session',
  };

  const ghost = newSessionId();
  const ghostSession = sessionOf(side.store, ghost, {
    cookie: new session.Cookie(cookieOptions(LIFETIME_MS)).toJSON(),
    username: 'ghost',
  });
  const ghostTouch = await timed(() =>
    finishUnchanged(side.store, ghost, ghostSession),
  );
  const ghostAfter = await found(side, ghost);
  results.touchUnknown = {
    ok: ghostAfter.present === false,
    detail: `${ghostAfter.said}${ghostTouch.error ? `; touch: ${describeError(ghostTouch.error)} error after ${ms(ghostTouch.took)}` : ''}`,
  };

  const doomed = await stored(
    side,
    { username: 'doomed', views: 1 },
    LIFETIME_MS,
  );
  await call(side.store, 'destroy', doomed.sid);
  const doomedAfter = await found(side, doomed.sid);
  results.destroy = {
    ok: doomedAfter.present === false,
    detail: doomedAfter.said,
  };

  await sleep(Math.max(0, started + AFTER_SHORT_MS - Date.now()));
  const shortAfter = await found(side, short.sid);
  results.expires = {
    ok: shortAfter.present === false,
    detail: shortAfter.said,
  };
  // The slow request ends: express-session moves the cookie on and touches the store.
  const lateTouch = lateRequest
    ? await timed(() => finishUnchanged(side.store, late.sid, lateRequest))
    : { error: new Error('the session did not load while live') };
  const lateAfter = await found(side, late.sid);
  results.touchExpired = {
    ok: lateAfter.present === false,
    detail: `${lateAfter.said}${lateTouch.error ? `; touch: ${describeError(lateTouch.error)} error` : ''}`,
  };
  return results;
}
