import { BadRequestException } from '@nestjs/common';
import { COOKIE_NAME_PATTERN } from 'nest-server-session';
import { COOKIE_ROUTES } from './cookie.routes.js';
import { encodedLength, isReservedCookie } from './cookie.query.js';

/** Most cookies the demo lets a visitor hold at once. */
export const MAX_DEMO_COOKIES = 10;
/**
 * Most bytes the demo's cookies may take in the Cookie header (`name=value`, joined by `; `).
 * Browsers send every cookie on every request: with the app's own cookies and the rest of a
 * request this stays far below Node's 16 KB header limit and the 8 KB per header line that
 * proxies such as nginx accept by default, so no link can lock a visitor out of the site.
 */
export const MAX_DEMO_COOKIE_BYTES = 6144;

/** How a visitor makes room, named in every refusal. */
const MAKE_ROOM = `delete one with /${COOKIE_ROUTES.delete}/?key=<name>, or all of them with /${COOKIE_ROUTES.delete}/?all`;

export interface SentCookie {
  name: string;
  /** Length of `name=value` as the browser sent it. */
  bytes: number;
}

/** The demo's cookies in a Cookie header, as sent: every cookie the app does not reserve. */
export function demoCookiesSent(
  header: string | undefined,
  reserved: string[],
): SentCookie[] {
  if (!header) return [];
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => ({ name: pair.split('=')[0].trim(), bytes: pair.length }))
    .filter(({ name }) => !isReservedCookie(name, reserved));
}

/** The names of the demo's cookies in a Cookie header, once each, those a Set-Cookie can name. */
export function demoCookieNames(
  header: string | undefined,
  reserved: string[],
): string[] {
  const names = demoCookiesSent(header, reserved).map(({ name }) => name);
  return [...new Set(names)].filter((name) => COOKIE_NAME_PATTERN.test(name));
}

/**
 * Refuses (400, with the reason and how to make room) a cookie `key=value` that would take the
 * visitor past {@link MAX_DEMO_COOKIES} or {@link MAX_DEMO_COOKIE_BYTES}, counting the demo
 * cookies the request carries; a cookie of the same name is replaced, so it does not count.
 */
export function assertRoomForCookie(
  header: string | undefined,
  reserved: string[],
  key: string,
  value: string,
): void {
  const others = demoCookiesSent(header, reserved).filter(
    ({ name }) => name !== key,
  );
  if (others.length + 1 > MAX_DEMO_COOKIES) {
    throw new BadRequestException(
      `too many cookies: the demo keeps at most ${MAX_DEMO_COOKIES} and you have ${others.length}; ${MAKE_ROOM}`,
    );
  }
  const separators = 2 * others.length;
  const bytes =
    others.reduce((sum, cookie) => sum + cookie.bytes, separators) +
    `${key}=`.length +
    encodedLength(value);
  if (bytes > MAX_DEMO_COOKIE_BYTES) {
    throw new BadRequestException(
      `cookies too large: with this one the demo's cookies would take ${bytes} bytes of every request, more than the ${MAX_DEMO_COOKIE_BYTES} allowed; ${MAKE_ROOM}`,
    );
  }
}
