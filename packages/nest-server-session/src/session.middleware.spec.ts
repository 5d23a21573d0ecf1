import { describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, Response } from 'express';
import {
  cookieDetector,
  createSessionMiddleware,
} from './session.middleware.js';
import { LruSessionStore } from './stores/memory/memory.store.js';
import { validateSessionOptions } from './options/session.options.js';

describe('cookieDetector', () => {
  const hasSession = cookieDetector('session');

  it.each([
    ['session=abc', true],
    ['a=1; session=abc', true],
    ['a=1;session=abc', true],
    ['mysession=abc', false],
    ['a=session=abc', false],
    ['', false],
    [undefined, false],
  ])('finds the cookie in %p: %p', (header, expected) => {
    expect(hasSession(header)).toBe(expected);
  });

  it('treats regex characters in the name literally', () => {
    expect(cookieDetector('a.b')('axb=1')).toBe(false);
    expect(cookieDetector('a.b')('a.b=1')).toBe(true);
  });
});

describe('createSessionMiddleware with skipAnonymousReads', () => {
  /** Runs the middleware on a minimal request and says whether it made a session. */
  function run(
    skip: boolean,
    method: string,
    cookie?: string,
  ): Promise<boolean> {
    const options = validateSessionOptions({
      type: 'memory',
      secret: 's',
      skipAnonymousReads: skip,
    });
    const middleware = createSessionMiddleware(
      options,
      new LruSessionStore('p:', 60, 10),
    );
    const req = {
      method,
      headers: cookie ? { cookie } : {},
      url: '/',
      originalUrl: '/',
    } as unknown as Request;
    const res = {
      on: () => res,
      once: () => res,
      emit: () => true,
      setHeader: () => {},
      getHeader: () => undefined,
    } as unknown as Response;
    return new Promise((resolve, reject) =>
      middleware(req, res, ((err?: unknown) =>
        err
          ? reject(err as Error)
          : resolve(req.session !== undefined)) as NextFunction),
    );
  }

  it('makes no session for an anonymous GET or HEAD', async () => {
    expect(await run(true, 'GET')).toBe(false);
    expect(await run(true, 'HEAD')).toBe(false);
  });

  it('makes a session for a POST, or a GET that brings a session cookie', async () => {
    expect(await run(true, 'POST')).toBe(true);
    expect(await run(true, 'GET', 'session=s%3Aabc.def')).toBe(true);
  });

  it('always makes a session when the option is off', async () => {
    expect(await run(false, 'GET')).toBe(true);
  });
});
