import type { SessionData } from 'express-session';

/**
 * Seconds a session may live in the store from now: until its cookie expires, and never
 * longer than the configured lifetime (a browser-session cookie has no expiry of its own).
 * Zero or less means the session has already expired.
 */
export function sessionTtlSeconds(
  session: Partial<SessionData> | undefined,
  lifetimeSeconds: number,
): number {
  const expires = session?.cookie?.expires;
  if (!expires) return lifetimeSeconds;
  const remaining = Math.ceil(
    (new Date(expires).getTime() - Date.now()) / 1000,
  );
  return Math.min(remaining, lifetimeSeconds);
}
