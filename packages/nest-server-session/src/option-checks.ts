/** Checks shared by the option validator and the environment mapper, so both agree. */

export const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

export const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** RFC 6265 cookie-name token characters. */
export const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const SQL_IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** URL schemes of each store that takes a URL. */
export const URL_SCHEMES = {
  redis: ['redis:', 'rediss:'],
  mongodb: ['mongodb:', 'mongodb+srv:'],
  sql: ['sqlite:', 'postgres:', 'postgresql:', 'mysql:', 'mariadb:'],
} as const;

/** `true` when `value` parses as a URL with one of `schemes` (and a host, unless sqlite). */
export function isUrlWithScheme(
  value: unknown,
  schemes: readonly string[],
): boolean {
  if (typeof value !== 'string') return false;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return false;
  }
  if (!schemes.includes(parsed.protocol)) return false;
  if (parsed.protocol === 'sqlite:')
    return value.replace(/^sqlite:(\/\/)?/, '') !== '';
  return parsed.hostname !== '';
}

/** `host:port` with a port from 1 to 65535; IPv6 hosts in brackets. */
export function isHostPort(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}
