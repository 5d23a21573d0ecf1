import { describe, expect, it } from '@jest/globals';
import { Deadlines } from './deadline.js';
import { sleep } from './store.fixtures.js';

const late = () => new Error('late');

describe('Deadlines', () => {
  it('passes through what settles in time, and fails what does not, each at its own deadline', async () => {
    const deadlines = new Deadlines(50);
    const started = performance.now();
    const quick = deadlines.within(
      sleep(5).then(() => 'quick'),
      late,
    );
    await sleep(20);
    const hung = deadlines.within(new Promise<string>(() => {}), late);
    const failed = deadlines.within(Promise.reject(new Error('no')), late);
    await expect(quick).resolves.toBe('quick');
    await expect(failed).rejects.toThrow('no');
    await expect(hung).rejects.toThrow('late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(65);
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('keeps one timer for thousands of calls, and forgets the settled ones', async () => {
    const deadlines = new Deadlines(30);
    const hung: Promise<unknown>[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          deadlines.within(Promise.resolve(i), late),
        ),
      );
      hung.push(
        deadlines.within(new Promise(() => {}), late).catch((err) => err),
      );
      await sleep(10);
    }
    const outcomes = await Promise.all(hung);
    expect(outcomes.every((err) => (err as Error).message === 'late')).toBe(
      true,
    );
    // Everything has passed its deadline: what the queue held is dropped.
    expect((deadlines as unknown as { queue: unknown[] }).queue).toHaveLength(
      0,
    );
  });
});
