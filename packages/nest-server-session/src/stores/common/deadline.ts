/**
 * `work`, or a rejection with `timeoutError()` once `ms` have passed without it settling. The
 * timer is cleared either way, so a settled call leaves nothing behind to keep the process up.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  timeoutError: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

interface Pending {
  at: number;
  reject: (err: Error) => void;
  timeoutError: () => Error;
  settled: boolean;
}

/**
 * Deadlines for many calls that share one duration, with one timer between them rather than a
 * `setTimeout`/`clearTimeout` pair per call (which, at tens of thousands of store calls a
 * second, shows in a profile). The calls' deadlines come in the order the calls start, so the
 * pending ones form a queue: the timer is set for the oldest, and on firing expires every call
 * already due, then waits for the next.
 */
export class Deadlines {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  /** `work`, or a rejection with `timeoutError()` once the duration has passed. */
  within<T>(work: Promise<T>, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        at: performance.now() + this.ms,
        reject,
        timeoutError,
        settled: false,
      };
      this.queue.push(pending);
      this.timer ??= this.arm(this.ms);
      work.then(
        (value) => {
          pending.settled = true;
          resolve(value);
        },
        (err: unknown) => {
          pending.settled = true;
          reject(err as Error);
        },
      );
    });
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expireDue(), Math.max(ms, 1));
    // Deadlines alone must not keep the process alive.
    timer.unref();
    return timer;
  }

  private expireDue(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const pending = this.queue[this.head];
      if (!pending.settled && pending.at > now) {
        this.timer = this.arm(pending.at - now);
        break;
      }
      if (!pending.settled) pending.reject(pending.timeoutError());
      this.head++;
    }
    // Drop what has been passed (all of it, or in chunks), so the array does not grow forever.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
