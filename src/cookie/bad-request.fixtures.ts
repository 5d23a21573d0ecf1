import { expect } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';

/** The BadRequestException `fn` throws, which it must. */
export function badRequest(fn: () => unknown): BadRequestException {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BadRequestException);
  expect((caught as BadRequestException).getStatus()).toBe(400);
  return caught as BadRequestException;
}
