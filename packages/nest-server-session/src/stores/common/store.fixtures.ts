/** Test helpers shared by the store specs; not part of the build (see tsconfig.build.json). */
import type { SessionData } from 'express-session';
import type { Callback } from './store-callback.js';

export type { Callback } from './store-callback.js';

/** Runs a callback-style store call; resolves with its value or rejects with its error. */
export function call<T>(
  start: (cb: Callback<T>) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    start((err, value) => (err ? reject(err) : resolve(value))),
  );
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A session whose cookie has no expiry (browser-session cookie), plus `data`. */
export function session(data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: null, path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

/** A session whose cookie expires `ms` from now. */
export function expiringSession(
  ms: number,
  data: Record<string, unknown> = {},
): SessionData {
  const expires = new Date(Date.now() + ms).toISOString();
  return {
    cookie: { originalMaxAge: ms, expires, path: '/', httpOnly: true },
    ...data,
  } as unknown as SessionData;
}

/**
 * A well-formed session id (32 base64url characters) made from `seed`: listings count only
 * keys that are exactly the prefix plus such an id.
 */
export const sessionId = (seed: string): string =>
  seed
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .repeat(32)
    .slice(0, 32);
