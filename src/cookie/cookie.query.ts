import { BadRequestException } from '@nestjs/common';
import { COOKIE_NAME_PATTERN } from 'nest-server-session';

export const DEFAULT_COOKIE_KEY = 'name';
export const DEFAULT_COOKIE_VALUE = 'cocoococo';
/** Browsers keep about 4 KB per cookie, name and attributes included. */
export const MAX_COOKIE_VALUE_LENGTH = 3000;
/** The value as the cookie carries it, URL-encoded: what the browser sends back each time. */
export const MAX_COOKIE_VALUE_BYTES = 3000;
/** 400 days: browsers cap a cookie's lifetime there (RFC 6265bis), whatever it asks for. */
export const MAX_COOKIE_MAX_AGE = 400 * 24 * 3600;

export interface CookieQuery {
  key?: unknown;
  value?: unknown;
  max_age?: unknown;
  all?: unknown;
}

/**
 * The cookie a demo request names with `?key=`, defaulting to the guide's `name`.
 * Cookies the app itself relies on (session, CSRF) are off limits, so a link cannot be used
 * to plant or read them.
 */
export function cookieKey(query: CookieQuery, reserved: string[]): string {
  const key = single(query.key, 'key') ?? DEFAULT_COOKIE_KEY;
  if (!COOKIE_NAME_PATTERN.test(key)) {
    throw new BadRequestException(`key: not a valid cookie name: "${key}"`);
  }
  if (isReservedCookie(key, reserved)) {
    throw new BadRequestException(
      `key: "${key}" is reserved for the application`,
    );
  }
  return key;
}

/** Whether `name` is one of the app's own cookies (`reserved`) or a browser-guarded prefix. */
export function isReservedCookie(name: string, reserved: string[]): boolean {
  return (
    reserved.includes(name) ||
    name.startsWith('__Host-') ||
    name.startsWith('__Secure-')
  );
}

export function cookieValue(query: CookieQuery): string {
  const value = single(query.value, 'value') ?? DEFAULT_COOKIE_VALUE;
  if (value.length > MAX_COOKIE_VALUE_LENGTH) {
    throw new BadRequestException(
      `value: at most ${MAX_COOKIE_VALUE_LENGTH} characters`,
    );
  }
  const bytes = encodedLength(value);
  if (bytes > MAX_COOKIE_VALUE_BYTES) {
    throw new BadRequestException(
      `value: at most ${MAX_COOKIE_VALUE_BYTES} bytes once URL-encoded in the cookie (other characters than letters, digits and -_.!~*'() take 3 to 12 each), got ${bytes}`,
    );
  }
  return value;
}

/** Length of `value` as Express's res.cookie writes it (encodeURIComponent). */
export function encodedLength(value: string): number {
  return encodeURIComponent(value).length;
}

/** `max_age` in seconds, as Flask's set_cookie takes it; undefined for a browser-session cookie. */
export function cookieMaxAge(query: CookieQuery): number | undefined {
  const raw = single(query.max_age, 'max_age');
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,10}$/.test(raw)) {
    throw new BadRequestException(
      `max_age: must be a whole number of seconds, got "${raw}"`,
    );
  }
  const seconds = Number(raw);
  if (seconds > MAX_COOKIE_MAX_AGE) {
    throw new BadRequestException(
      `max_age: at most ${MAX_COOKIE_MAX_AGE} seconds (400 days, the longest browsers keep a cookie), got ${raw}`,
    );
  }
  return seconds;
}

/** `?all` (with any value, or none): the request is about every demo cookie at once. */
export function allCookies(query: CookieQuery): boolean {
  return single(query.all, 'all') !== undefined;
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new BadRequestException(`${name}: give it once`);
  return value;
}
