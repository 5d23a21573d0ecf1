import { describe, expect, it } from '@jest/globals';
import { badRequest } from './bad-request.fixtures.js';
import {
  assertRoomForCookie,
  demoCookieNames,
  demoCookiesSent,
  MAX_DEMO_COOKIE_BYTES,
  MAX_DEMO_COOKIES,
} from './cookie-budget.js';

const RESERVED = ['session', 'csrf'];

/** A Cookie header holding `count` demo cookies c0, c1, ... of `valueLength` characters. */
function header(count: number, valueLength = 1, extra = ''): string {
  const cookies = Array.from(
    { length: count },
    (_, i) => `c${i}=${'v'.repeat(valueLength)}`,
  );
  return [...cookies, extra].filter(Boolean).join('; ');
}

const refusal = (fn: () => unknown) => badRequest(fn).message;

describe('demoCookiesSent', () => {
  it('lists every cookie but the reserved ones, with its size as sent', () => {
    expect(
      demoCookiesSent(
        'name=abc; session=s%3Axyz; csrf=t;theme=dark ; __Host-x=1',
        RESERVED,
      ),
    ).toEqual([
      { name: 'name', bytes: 8 },
      { name: 'theme', bytes: 10 },
    ]);
  });

  it('is empty without a Cookie header', () => {
    expect(demoCookiesSent(undefined, RESERVED)).toEqual([]);
    expect(demoCookiesSent('', RESERVED)).toEqual([]);
  });
});

describe('demoCookieNames', () => {
  it('names each cookie a Set-Cookie can name once', () => {
    expect(
      demoCookieNames('a=1; b=2; a=3; bad name=4; session=5', RESERVED),
    ).toEqual(['a', 'b']);
  });
});

describe('assertRoomForCookie', () => {
  it(`accepts up to ${MAX_DEMO_COOKIES} cookies`, () => {
    expect(() =>
      assertRoomForCookie(header(MAX_DEMO_COOKIES - 1), RESERVED, 'new', 'v'),
    ).not.toThrow();
  });

  it('refuses one more, saying how to make room', () => {
    expect(
      refusal(() =>
        assertRoomForCookie(header(MAX_DEMO_COOKIES), RESERVED, 'new', 'v'),
      ),
    ).toBe(
      `too many cookies: the demo keeps at most ${MAX_DEMO_COOKIES} and you have ${MAX_DEMO_COOKIES}; delete one with /delcookie/?key=<name>, or all of them with /delcookie/?all`,
    );
  });

  it('lets a cookie already held be replaced when the count is full', () => {
    expect(() =>
      assertRoomForCookie(header(MAX_DEMO_COOKIES), RESERVED, 'c3', 'v'),
    ).not.toThrow();
  });

  it("counts neither the app's own cookies nor the old value of the cookie replaced", () => {
    const app = `session=${'s'.repeat(5000)}; csrf=${'t'.repeat(5000)}`;
    expect(() =>
      assertRoomForCookie(
        header(1, 3000, app),
        RESERVED,
        'c0',
        'w'.repeat(3000),
      ),
    ).not.toThrow();
  });

  it(`refuses a cookie that would take the demo cookies past ${MAX_DEMO_COOKIE_BYTES} bytes`, () => {
    // Two cookies of 3000 characters fit; a third does not.
    const two = header(2, 3000);
    expect(() =>
      assertRoomForCookie(header(1, 3000), RESERVED, 'c1', 'v'.repeat(3000)),
    ).not.toThrow();
    expect(
      refusal(() => assertRoomForCookie(two, RESERVED, 'c2', 'v'.repeat(3000))),
    ).toBe(
      `cookies too large: with this one the demo's cookies would take 9013 bytes of every request, more than the ${MAX_DEMO_COOKIE_BYTES} allowed; delete one with /delcookie/?key=<name>, or all of them with /delcookie/?all`,
    );
  });

  it('counts the value URL-encoded, as the browser sends it back', () => {
    // 3003 + 2 + 2 + 400 characters that take 9 bytes each once encoded.
    expect(
      refusal(() =>
        assertRoomForCookie(header(1, 3000), RESERVED, 'k', '桃'.repeat(400)),
      ),
    ).toMatch(/would take 6607 bytes/);
  });
});
