import { describe, expect, it, jest } from '@jest/globals';
import { withDeadline } from '../stores/common/deadline.js';
import { startExpirySweeps } from '../stores/common/expiry-sweeper.js';
import {
  MAX_CLEANUP_INTERVAL_SECONDS,
  MAX_STORE_TIMEOUT_MS,
} from './common.options.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 50));

// Issue #9, row 4: with real timers, as the app runs them. Past 2^31 - 1 ms Node fires a timer
// after 1 ms; the longest settings the options accept must still wait.
describe('the longest settings the options accept', () => {
  it('sweep no sooner than SESSION_CLEANUP_INTERVAL says', async () => {
    const sweep = jest.fn(() => Promise.resolve(0));
    const stop = startExpirySweeps(sweep, MAX_CLEANUP_INTERVAL_SECONDS);
    await tick();
    await stop();
    expect(sweep).not.toHaveBeenCalled();
  });

  it('let a store call wait, with the 500 ms memcached adds as a backstop', async () => {
    const answer = tick().then(() => 'answered');
    await expect(
      withDeadline(answer, MAX_STORE_TIMEOUT_MS + 500, () => new Error('late')),
    ).resolves.toBe('answered');
  });
});
