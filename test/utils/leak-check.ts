import { expect, jest } from '@jest/globals';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { Response } from 'supertest';
import { escapeRegExp } from '../../packages/nest-server-session/src/escape-reg-exp.js';
import type { CapturingLogger } from './capturing-logger.js';

/**
 * Sends everything logged, through Nest's Logger or the console, to `logger`. Call it after
 * the app is made (Nest's testing module installs a logger of its own); undo it with
 * {@link stopCapturingLogs} once the tests are done.
 */
export function captureLogs(logger: CapturingLogger): void {
  Logger.overrideLogger(logger);
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    jest
      .spyOn(console, method)
      .mockImplementation((...args: unknown[]) =>
        logger[method === 'info' ? 'log' : method](...args),
      );
}

export function stopCapturingLogs(): void {
  jest.restoreAllMocks();
  Logger.overrideLogger(new ConsoleLogger());
}

/**
 * No log line and no error answer (4xx/5xx; a page served may greet its user) holds any of
 * `secrets` (case-insensitively) or any key of `prefix`: the prefix and a 32-character id.
 */
export function expectNothingLeaked(
  logger: CapturingLogger,
  answers: Response[],
  secrets: string[],
  prefix: string,
): void {
  const anyKey = new RegExp(`${escapeRegExp(prefix)}[A-Za-z0-9_-]{32}`);
  const seen = [
    ...logger.lines,
    ...answers
      .filter((res) => res.status >= 400)
      .map((res) => `${res.status} ${res.text}`),
  ];
  for (const text of seen) {
    for (const secret of secrets)
      expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(text).not.toMatch(anyKey);
  }
}
