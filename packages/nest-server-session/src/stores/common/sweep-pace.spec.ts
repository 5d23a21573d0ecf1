import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { batchPacer } from './sweep-pace.js';

describe('batchPacer', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Whether `rest` has resolved after the timers advanced by `ms`. */
  const restedAfter = async (rest: Promise<void>, ms: number) => {
    let rested = false;
    void rest.then(() => (rested = true));
    await jest.advanceTimersByTimeAsync(ms);
    return rested;
  };

  it('paced: rests as long as the batch took', async () => {
    const rest = batchPacer(true);
    jest.advanceTimersByTime(40); // the batch
    const resting = rest();
    expect(await restedAfter(resting, 39)).toBe(false);
    expect(await restedAfter(resting, 1)).toBe(true);
  });

  it('paced: rests a second at most, however long the batch took', async () => {
    const rest = batchPacer(true);
    jest.advanceTimersByTime(60_000);
    const resting = rest();
    expect(await restedAfter(resting, 999)).toBe(false);
    expect(await restedAfter(resting, 1)).toBe(true);
  });

  it('unpaced: only lets the event loop turn', async () => {
    const rest = batchPacer(false);
    jest.advanceTimersByTime(40);
    expect(await restedAfter(rest(), 0)).toBe(true);
  });
});
