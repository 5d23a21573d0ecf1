/** Checks shared by the option validator and the environment mapper, so both agree. */

export const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/** RFC 6265 cookie-name token characters. */
export const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const SQL_IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `true` when `value` parses as a URL with one of `schemes` (and a host, unless sqlite). */
export function isUrlWithScheme(value: unknown, schemes: string[]): boolean {
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
