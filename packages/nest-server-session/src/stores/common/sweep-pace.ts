/**
 * A paced sweep rests after each batch as long as the batch took: it never has the store (or,
 * on SQLite, whose driver is synchronous, the event loop) more than half the time, so the
 * requests that arrive meanwhile wait for at most one batch. Unpaced, as the cleanup command
 * runs it, a sweep only lets the event loop turn between batches.
 */
const REST_PER_BATCH_TIME = 1;
/** However slow a batch, the pause stays short: a sweep must still end. */
const MAX_REST_MS = 1000;

/** Starts timing a batch; the function it returns waits before the next one. */
export function batchPacer(paced: boolean | undefined): () => Promise<void> {
  // The global timers (not node:timers/promises): what a test's fake clock drives.
  if (!paced) return () => new Promise((resolve) => setImmediate(resolve));
  // Date.now rather than performance.now: a clock step only makes one pause off, within bounds.
  const started = Date.now();
  return async () => {
    const took = Math.max(0, Date.now() - started);
    const rest = Math.min(took * REST_PER_BATCH_TIME, MAX_REST_MS);
    await new Promise((resolve) => setTimeout(resolve, rest));
  };
}

/** However fast the rows go, a batch keeps some: a statement has its own cost. */
const MIN_TIMED_BATCH = 20;

/**
 * Batch sizes for a paced sweep on a driver that holds the event loop while a batch runs
 * (SQLite): each batch is sized from how long the last one took, rows per millisecond, so that
 * it blocks for about `targetMs` however large the table (a batch of 500 took 4 ms on 200,000
 * rows and 20 ms or more on a million). Never more than `max` rows.
 */
export class TimedBatches {
  private next: number;

  constructor(
    private readonly max: number,
    private readonly targetMs: number,
  ) {
    this.next = max;
  }

  /** Rows for the next batch. */
  get size(): number {
    return this.next;
  }

  /** Records that a batch of `rows` rows took `ms`. */
  took(rows: number, ms: number): void {
    const perMs = rows / Math.max(ms, 0.1);
    this.next = Math.round(
      Math.min(this.max, Math.max(MIN_TIMED_BATCH, perMs * this.targetMs)),
    );
  }
}
