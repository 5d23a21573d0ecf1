import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpException,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express from 'express';
import request from 'supertest';
import { SessionTooLargeError } from './session-too-large.error.js';
import { StoreUnavailableError } from './store-unavailable.error.js';

/**
 * What an app with its own copy of @nestjs/common sees of the package's errors: the same
 * fields, but a class chain without the app's HttpException.
 */
class ErrorOfAnotherNestCopy extends Error {}

function fromAnotherNestCopy(error: Error): Error {
  return Object.setPrototypeOf(error, ErrorOfAnotherNestCopy.prototype);
}

const ERRORS: [string, () => Error, number][] = [
  [
    'StoreUnavailableError',
    () => new StoreUnavailableError('get', 'timed out after 1000 ms'),
    503,
  ],
  [
    'SessionTooLargeError',
    () => new SessionTooLargeError('memcached', 2_000_000, 1_048_576),
    507,
  ],
];

/** The error the test routes throw, set by each test. */
let thrown: () => Error;

@Controller()
class ThrowingController {
  @Get('throw')
  throw(): never {
    throw thrown();
  }
}

describe.each(ERRORS)('%s', (_name, make, status) => {
  it(`is an HttpException of status ${status} in the normal case`, () => {
    const error = make();
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(status);
  });

  it('carries its status as http-errors does, for code that does not know its class', () => {
    const error = fromAnotherNestCopy(make());
    expect(error).not.toBeInstanceOf(HttpException);
    expect(error).toMatchObject({
      status,
      statusCode: status,
      expose: true,
    });
  });

  describe('from another copy of @nestjs/common', () => {
    let nest: INestApplication;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        controllers: [ThrowingController],
      }).compile();
      nest = moduleRef.createNestApplication({ logger: false });
      await nest.init();
    });

    afterAll(async () => {
      await nest?.close();
    });

    it(`answers ${status} with its message through Nest's default exception filter`, async () => {
      thrown = () => fromAnotherNestCopy(make());
      const res = await request(nest.getHttpServer()).get('/throw');
      expect(res.status).toBe(status);
      expect(res.body).toEqual({
        statusCode: status,
        message: make().message,
      });
    });

    it(`answers ${status} through Express's own error handler`, async () => {
      const app = express();
      app.get('/throw', (_req, _res, next) =>
        next(fromAnotherNestCopy(make())),
      );
      const res = await request(app).get('/throw');
      expect(res.status).toBe(status);
    });

    it(`answers ${status} through an Express error handler that reads err.statusCode`, async () => {
      const app = express();
      app.get('/throw', (_req, _res, next) =>
        next(fromAnotherNestCopy(make())),
      );
      app.use(
        (
          err: { statusCode?: number },
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          res.status(err.statusCode ?? 500).end();
        },
      );
      await request(app).get('/throw').expect(status);
    });
  });
});
