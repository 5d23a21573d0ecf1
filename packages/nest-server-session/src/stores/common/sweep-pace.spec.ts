import {
  afterEach,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { batchPacer, TimedBatches } from './sweep-pace.js';

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

describe('TimedBatches', () => {
  it('starts at the most rows, then sizes each batch to take about the target time', () => {
    const sizes = new TimedBatches(500, 4);
    expect(sizes.size).toBe(500);
    // A large table: 500 rows took 20 ms, 25 a millisecond.
    sizes.took(500, 20);
    expect(sizes.size).toBe(100);
    // It got faster (the expired rows are now in cached pages): back up, never past the most.
    sizes.took(100, 0.5);
    expect(sizes.size).toBe(500);
  });

  it('keeps a few rows per batch however slow, and a batch that took no measurable time', () => {
    const sizes = new TimedBatches(500, 4);
    sizes.took(500, 60_000);
    expect(sizes.size).toBe(20);
    sizes.took(20, 0);
    expect(sizes.size).toBe(500);
  });
});
