import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { SweepOptions } from '../store.contract.js';
import { startExpirySweeps } from './expiry-sweeper.js';

describe('startExpirySweeps', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('sweeps every interval until stopped', async () => {
    const removeExpired = jest.fn(() => Promise.resolve(2));
    const stop = startExpirySweeps(removeExpired, 60);
    await jest.advanceTimersByTimeAsync(59_000);
    expect(removeExpired).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(removeExpired).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(removeExpired).toHaveBeenCalledTimes(3);
    expect(Logger.prototype.log).toHaveBeenCalledWith(
      'Removed 2 expired sessions',
    );
    await stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(removeExpired).toHaveBeenCalledTimes(3);
  });

  it('does nothing for a store without removeExpired, or with interval 0', async () => {
    const removeExpired = jest.fn(() => Promise.resolve(0));
    await startExpirySweeps(undefined, 60)();
    const stop = startExpirySweeps(removeExpired, 0);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(removeExpired).not.toHaveBeenCalled();
    await stop();
  });

  it('never overlaps a sweep still running, and stop waits for it', async () => {
    let finish: (n: number) => void = () => {};
    const removeExpired = jest.fn(
      () => new Promise<number>((resolve) => (finish = resolve)),
    );
    const stop = startExpirySweeps(removeExpired, 1);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(removeExpired).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish(0);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('asks a sweep in progress to stop when the sweeps are stopped', async () => {
    let signal: AbortSignal | undefined;
    const removeExpired = jest.fn(
      (options?: SweepOptions) =>
        new Promise<number>((resolve) => {
          signal = options?.signal;
          signal?.addEventListener('abort', () => resolve(5));
        }),
    );
    const stop = startExpirySweeps(removeExpired, 1);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(signal?.aborted).toBe(false);
    // Paced: the requests of the running app come first (see sweep-pace.ts).
    expect(removeExpired.mock.calls[0][0]).toMatchObject({ paced: true });
    await stop();
    expect(signal?.aborted).toBe(true);
    expect(Logger.prototype.log).toHaveBeenCalledWith(
      'Removed 5 expired sessions',
    );
  });

  it('logs a failed sweep and tries again at the next interval', async () => {
    const removeExpired = jest
      .fn<() => Promise<number>>()
      .mockRejectedValueOnce(new Error('database is locked'))
      .mockResolvedValue(1);
    const stop = startExpirySweeps(removeExpired, 10);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(Logger.prototype.warn).toHaveBeenCalledWith(
      'Sweep of expired sessions failed: database is locked',
    );
    await jest.advanceTimersByTimeAsync(10_000);
    expect(removeExpired).toHaveBeenCalledTimes(2);
    expect(Logger.prototype.log).toHaveBeenCalledWith(
      'Removed 1 expired session',
    );
    await stop();
  });
});
