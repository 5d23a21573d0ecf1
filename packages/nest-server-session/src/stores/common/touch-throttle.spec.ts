import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { TouchThrottle } from './touch-throttle.js';

const MINUTE = 60_000;

/** A stored session's cookie as express-session writes it `agoMs` ago with `maxAgeMs`. */
function storedCookie(agoMs: number, maxAgeMs = 60 * MINUTE) {
  return {
    cookie: {
      originalMaxAge: maxAgeMs,
      expires: new Date(Date.now() - agoMs + maxAgeMs),
    },
  } as never;
}

describe('TouchThrottle', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('with touchAfter 0, every touch is due', () => {
    const throttle = new TouchThrottle(0);
    throttle.refreshed('a');
    expect(throttle.isDue('a')).toBe(true);
  });

  it('is due for a session it knows nothing about', () => {
    expect(new TouchThrottle(5 * MINUTE).isDue('unknown')).toBe(true);
  });

  it('is not due until touchAfter has passed since a write or refresh', () => {
    const throttle = new TouchThrottle(5 * MINUTE);
    throttle.refreshed('a');
    jest.advanceTimersByTime(5 * MINUTE - 1);
    expect(throttle.isDue('a')).toBe(false);
    jest.advanceTimersByTime(1);
    expect(throttle.isDue('a')).toBe(true);
  });

  it('learns when a loaded session was written from its stored cookie', () => {
    const throttle = new TouchThrottle(5 * MINUTE);
    throttle.loaded('recent', storedCookie(2 * MINUTE));
    throttle.loaded('old', storedCookie(6 * MINUTE));
    expect(throttle.isDue('recent')).toBe(false);
    expect(throttle.isDue('old')).toBe(true);
    jest.advanceTimersByTime(3 * MINUTE);
    expect(throttle.isDue('recent')).toBe(true);
  });

  it('keeps the later of a remembered refresh and an older stored write', () => {
    const throttle = new TouchThrottle(5 * MINUTE);
    throttle.refreshed('a');
    throttle.loaded('a', storedCookie(4 * MINUTE));
    jest.advanceTimersByTime(4 * MINUTE);
    expect(throttle.isDue('a')).toBe(false);
  });

  it('cannot tell from a browser-session cookie, so the first touch is due', () => {
    const throttle = new TouchThrottle(5 * MINUTE);
    throttle.loaded('a', {
      cookie: { originalMaxAge: null, expires: null },
    } as never);
    expect(throttle.isDue('a')).toBe(true);
    throttle.loaded('b', null);
    expect(throttle.isDue('b')).toBe(true);
  });

  it('forgets a destroyed session', () => {
    const throttle = new TouchThrottle(5 * MINUTE);
    throttle.refreshed('a');
    throttle.forget('a');
    expect(throttle.isDue('a')).toBe(true);
  });
});
