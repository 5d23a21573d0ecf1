import { BadRequestException } from '@nestjs/common';
import { COOKIE_NAME_PATTERN } from 'nest-server-session';

export const DEFAULT_COOKIE_KEY = 'name';
export const DEFAULT_COOKIE_VALUE = 'cocoococo';
/** Browsers keep about 4 KB per cookie, name and attributes included. */
export const MAX_COOKIE_VALUE_LENGTH = 3000;

export interface CookieQuery {
  key?: unknown;
  value?: unknown;
  max_age?: unknown;
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
  if (
    reserved.includes(key) ||
    key.startsWith('__Host-') ||
    key.startsWith('__Secure-')
  ) {
    throw new BadRequestException(
      `key: "${key}" is reserved for the application`,
    );
  }
  return key;
}

export function cookieValue(query: CookieQuery): string {
  const value = single(query.value, 'value') ?? DEFAULT_COOKIE_VALUE;
  if (value.length > MAX_COOKIE_VALUE_LENGTH) {
    throw new BadRequestException(
      `value: at most ${MAX_COOKIE_VALUE_LENGTH} characters`,
    );
  }
  return value;
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
  return Number(raw);
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new BadRequestException(`${name}: give it once`);
  return value;
}
