/** express-session's callback convention, shared by every store here. */
export type Callback<T = unknown> = (err?: unknown, value?: T) => void;

/**
 * Hands the outcome of `work` to an express-session callback, exactly once: the value on
 * success, the error otherwise. Stores written with promises answer through this.
 */
export function settle<T>(work: Promise<T>, cb: Callback<T> | undefined): void {
  work.then(
    (value) => cb?.(null, value),
    (err: unknown) => cb?.(err),
  );
}
