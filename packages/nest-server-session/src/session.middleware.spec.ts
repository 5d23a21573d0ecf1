import { describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  cookieDetector,
  createSessionMiddlewares,
} from './session.middleware.js';
import type { SessionModuleOptions } from './options/session.options.js';

type MemorySessionOptions = Extract<SessionModuleOptions, { type: 'memory' }>;
import { ConsistentStore } from './stores/common/consistent-store.js';
import { createSessionCodec } from './stores/common/session-codec.js';
import { MemorySessionBackend } from './stores/memory/memory.store.js';
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

/** A minimal request and response, enough for the session middleware. */
function exchange(method: string, cookie?: string): [Request, Response] {
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
  return [req, res];
}

/** The middleware for `options`, over a memory store. */
function middlewaresFor(
  options: Partial<MemorySessionOptions>,
): RequestHandler[] {
  return createSessionMiddlewares(
    validateSessionOptions({ type: 'memory', secret: 's', ...options }),
    new ConsistentStore(
      new MemorySessionBackend('p:', 60, 10, createSessionCodec()),
      { timeoutMs: 1000, lifetime: 60 },
    ),
  );
}

/** Runs `middlewares` in order, as Nest mounts them, until one fails or all are done. */
async function runAll(
  middlewares: RequestHandler[],
  req: Request,
  res: Response,
): Promise<void> {
  for (const middleware of middlewares)
    await new Promise<void>((resolve, reject) =>
      middleware(req, res, ((err?: unknown) =>
        err ? reject(err as Error) : resolve()) as NextFunction),
    );
}

/** Runs the middleware on a minimal request and says whether it made a session. */
async function madeSession(
  skip: boolean,
  method: string,
  cookie?: string,
): Promise<boolean> {
  const [req, res] = exchange(method, cookie);
  await runAll(middlewaresFor({ skipAnonymousReads: skip }), req, res);
  return req.session !== undefined;
}

describe('createSessionMiddleware with skipAnonymousReads', () => {
  it('makes no session for an anonymous GET or HEAD', async () => {
    expect(await madeSession(true, 'GET')).toBe(false);
    expect(await madeSession(true, 'HEAD')).toBe(false);
  });

  it('makes a session for a POST, or a GET that brings a session cookie', async () => {
    expect(await madeSession(true, 'POST')).toBe(true);
    expect(await madeSession(true, 'GET', 'session=s%3Aabc.def')).toBe(true);
  });

  it('always makes a session when the option is off', async () => {
    expect(await madeSession(false, 'GET')).toBe(true);
  });
});

/** Runs the middleware with one afterSession middleware; what it saw of req.session. */
async function afterSessionSees(method: string) {
  let seen: object | undefined;
  const [req, res] = exchange(method);
  await runAll(
    middlewaresFor({
      skipAnonymousReads: true,
      afterSession: [
        (r, _res, next) => {
          seen = r.session;
          next();
        },
      ],
    }),
    req,
    res,
  );
  return { seen, after: req.session };
}

describe('createSessionMiddlewares with afterSession', () => {
  it('mounts only the session middleware without afterSession', () => {
    expect(middlewaresFor({})).toHaveLength(1);
  });

  it('hands afterSession the request session, and leaves it there', async () => {
    const { seen, after } = await afterSessionSees('POST');
    expect(seen).toBeDefined();
    expect(after).toBe(seen);
    expect(Object.isFrozen(seen)).toBe(false);
  });

  it('lends an anonymous GET an empty session that takes no writes, and takes it back', async () => {
    const { seen, after } = await afterSessionSees('GET');
    expect(seen).toEqual({});
    expect(Object.isFrozen(seen)).toBe(true);
    expect(() => {
      (seen as Record<string, unknown>).passport = { user: 'x' };
    }).toThrow(TypeError);
    expect(after).toBeUndefined();
  });
});
