import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import {
  applyChanges,
  changesBetween,
  contentOf,
  hasChanges,
} from './session-changes.js';

const data = (fields: Record<string, unknown>) =>
  ({
    cookie: { originalMaxAge: 1000, expires: 'x' },
    ...fields,
  }) as unknown as SessionData;

describe('changesBetween', () => {
  it('finds keys added, changed and deleted, by value, ignoring the cookie', () => {
    const changes = changesBetween(
      data({ same: { a: [1] }, changed: 1, gone: true }),
      {
        ...data({ same: { a: [1] }, changed: 2, added: 'x' }),
        cookie: {},
      } as never,
    );
    expect([...changes.set]).toEqual([
      ['changed', 2],
      ['added', 'x'],
    ]);
    expect([...changes.unset]).toEqual(['gone']);
  });

  it('counts a nested change as a change of the whole top-level value', () => {
    const before = data({ cart: { items: [1] } });
    const after = data({ cart: { items: [1, 2] } });
    expect([...changesBetween(before, after).set]).toEqual([
      ['cart', { items: [1, 2] }],
    ]);
  });

  it('treats a key set to undefined as deleted, and finds nothing in equal sessions', () => {
    expect([
      ...changesBetween(data({ a: 1 }), data({ a: undefined })).unset,
    ]).toEqual(['a']);
    expect(hasChanges(changesBetween(data({ a: 1 }), data({ a: 1 })))).toBe(
      false,
    );
  });
});

describe('applyChanges', () => {
  it('applies the changes onto another version, with the given cookie', () => {
    const changes = changesBetween(data({ a: 1, b: 1 }), data({ a: 2 }));
    const cookie = { originalMaxAge: 5 } as unknown as SessionData['cookie'];
    expect(applyChanges(data({ a: 1, b: 1, c: 3 }), changes, cookie)).toEqual({
      cookie,
      a: 2,
      c: 3,
    });
  });
});

describe('contentOf', () => {
  it('leaves out the cookie expiry, which moves on every request', () => {
    const a = data({ n: 1 });
    const b = {
      ...data({ n: 1 }),
      cookie: { originalMaxAge: 1000, expires: 'y' },
    } as never;
    expect(contentOf(a)).toBe(contentOf(b));
    expect(contentOf(a)).not.toBe(contentOf(data({ n: 2 })));
  });
});
