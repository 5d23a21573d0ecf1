import { describe, expect, it } from '@jest/globals';
import { badRequest } from './bad-request.fixtures.js';
import {
  allCookies,
  cookieKey,
  cookieMaxAge,
  cookieValue,
  DEFAULT_COOKIE_KEY,
  DEFAULT_COOKIE_VALUE,
  MAX_COOKIE_MAX_AGE,
  MAX_COOKIE_VALUE_LENGTH,
} from './cookie.query.js';

const RESERVED = ['session', 'csrf'];

describe('cookieKey', () => {
  it('defaults to "name"', () => {
    expect(DEFAULT_COOKIE_KEY).toBe('name');
    expect(cookieKey({}, RESERVED)).toBe('name');
  });

  it.each(['theme', 'user_id', 'a.b-c', "!#$%&'*+^`|~"])(
    'accepts %p',
    (key) => {
      expect(cookieKey({ key }, RESERVED)).toBe(key);
    },
  );

  it.each(['session', 'csrf'])('refuses the reserved name %p', (key) => {
    expect(badRequest(() => cookieKey({ key }, RESERVED)).message).toBe(
      `key: "${key}" is reserved for the application`,
    );
  });

  it('refuses only the names given as reserved', () => {
    expect(cookieKey({ key: 'session' }, [])).toBe('session');
  });

  it.each(['__Host-csrf', '__Host-anything', '__Secure-token'])(
    'refuses the prefixed name %p',
    (key) => {
      expect(badRequest(() => cookieKey({ key }, RESERVED)).message).toMatch(
        /is reserved for the application/,
      );
    },
  );

  it.each(['', 'a b', 'a;b', 'a=b', 'a,b', '(x)', 'naïve', 'a\tb'])(
    'rejects the invalid name %p',
    (key) => {
      expect(badRequest(() => cookieKey({ key }, RESERVED)).message).toBe(
        `key: not a valid cookie name: "${key}"`,
      );
    },
  );

  it.each([
    ['an array', ['a', 'b']],
    ['an object', { a: '1' }],
  ])('rejects a key given as %s', (_label, key) => {
    expect(badRequest(() => cookieKey({ key }, RESERVED)).message).toBe(
      'key: give it once',
    );
  });
});

describe('cookieValue', () => {
  it('defaults to the guide value', () => {
    expect(DEFAULT_COOKIE_VALUE).toBe('cocoococo');
    expect(cookieValue({})).toBe('cocoococo');
  });

  it('returns the value given, including an empty one', () => {
    expect(cookieValue({ value: 'dark mode; yes' })).toBe('dark mode; yes');
    expect(cookieValue({ value: '' })).toBe('');
  });

  it('accepts a value of the maximum length', () => {
    const value = 'x'.repeat(MAX_COOKIE_VALUE_LENGTH);
    expect(cookieValue({ value })).toBe(value);
  });

  it('rejects a longer value', () => {
    const value = 'x'.repeat(MAX_COOKIE_VALUE_LENGTH + 1);
    expect(badRequest(() => cookieValue({ value })).message).toBe(
      'value: at most 3000 characters',
    );
  });

  it('rejects a value that URL-encodes to more than 3000 bytes, saying how long it got', () => {
    const value = '桃'.repeat(334);
    expect(badRequest(() => cookieValue({ value })).message).toMatch(
      /^value: at most 3000 bytes once URL-encoded in the cookie .*, got 3006$/,
    );
    expect(cookieValue({ value: '桃'.repeat(333) })).toHaveLength(333);
  });

  it('rejects a value given twice', () => {
    expect(badRequest(() => cookieValue({ value: ['a', 'b'] })).message).toBe(
      'value: give it once',
    );
  });
});

describe('cookieMaxAge', () => {
  it('is undefined (a browser-session cookie) when absent or empty', () => {
    expect(cookieMaxAge({})).toBeUndefined();
    expect(cookieMaxAge({ max_age: '' })).toBeUndefined();
  });

  it.each([
    ['60', 60],
    ['0', 0],
    ['007', 7],
    ['34560000', 34_560_000],
  ])('reads %p as %p seconds', (raw, seconds) => {
    expect(cookieMaxAge({ max_age: raw })).toBe(seconds);
  });

  it.each(['-1', 'abc', '1e3', '1.5', ' 60', '0x10', '12345678901'])(
    'rejects %p',
    (raw) => {
      expect(badRequest(() => cookieMaxAge({ max_age: raw })).message).toBe(
        `max_age: must be a whole number of seconds, got "${raw}"`,
      );
    },
  );

  it.each(['34560001', '9999999999'])(
    'rejects %p, past the 400 days browsers keep a cookie',
    (raw) => {
      expect(MAX_COOKIE_MAX_AGE).toBe(400 * 24 * 3600);
      expect(badRequest(() => cookieMaxAge({ max_age: raw })).message).toBe(
        `max_age: at most 34560000 seconds (400 days, the longest browsers keep a cookie), got ${raw}`,
      );
    },
  );

  it('rejects a max_age given twice', () => {
    expect(
      badRequest(() => cookieMaxAge({ max_age: ['60', '120'] })).message,
    ).toBe('max_age: give it once');
  });
});

describe('allCookies', () => {
  it.each([
    [{}, false],
    [{ all: '' }, true],
    [{ all: '1' }, true],
  ])('reads %p as %p', (query, all) => {
    expect(allCookies(query)).toBe(all);
  });

  it('rejects all given twice', () => {
    expect(badRequest(() => allCookies({ all: ['', ''] })).message).toBe(
      'all: give it once',
    );
  });
});
