import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import type { SessionData } from 'express-session';
import { sessionTtlSeconds } from './session-ttl.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');

/** A session whose cookie expires `ms` milliseconds after NOW (as a Date or, after JSON, a string). */
function expiringIn(ms: number, asString = false): Partial<SessionData> {
  const expires = new Date(NOW.getTime() + ms);
  return {
    cookie: { expires: asString ? expires.toISOString() : expires },
  } as unknown as Partial<SessionData>;
}

describe('sessionTtlSeconds', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('is the configured lifetime when there is no session', () => {
    expect(sessionTtlSeconds(undefined, 120)).toBe(120);
  });

  it('is the configured lifetime for a browser-session cookie (no expiry)', () => {
    const session = {
      cookie: { expires: undefined },
    } as unknown as Partial<SessionData>;
    expect(sessionTtlSeconds(session, 120)).toBe(120);
    expect(sessionTtlSeconds({}, 120)).toBe(120);
  });

  it('is the time left until the cookie expires, when shorter than the lifetime', () => {
    expect(sessionTtlSeconds(expiringIn(30_000), 120)).toBe(30);
  });

  it('never exceeds the lifetime, even when the cookie lives longer', () => {
    expect(sessionTtlSeconds(expiringIn(3_600_000), 120)).toBe(120);
  });

  it('rounds a partial second up', () => {
    expect(sessionTtlSeconds(expiringIn(1_200), 120)).toBe(2);
    expect(sessionTtlSeconds(expiringIn(1), 120)).toBe(1);
  });

  it('accepts an expiry given as a string, as it comes back from JSON', () => {
    expect(sessionTtlSeconds(expiringIn(45_000, true), 120)).toBe(45);
  });

  it('is zero or less once the cookie has expired', () => {
    expect(sessionTtlSeconds(expiringIn(0), 120)).toBeLessThanOrEqual(0);
    expect(sessionTtlSeconds(expiringIn(-10_000), 120)).toBe(-10);
  });
});
